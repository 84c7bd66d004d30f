//! LogisticsService: waybills by hand for the unusual cases, the carrier's callback, and the
//! waybills of a case with their history and chain of custody.

use sqlx::PgConnection;
use tongban_domain::i18n::{Lang, Localized};
use tongban_domain::logistics::TrackingNumber;
use tongban_proto::logistics::v1 as pb;
use tongban_proto::logistics::v1::logistics_service_server::LogisticsService;
use tongban_runtime::auth::{Claims, Role, caller};
use tongban_runtime::convert::datetime;
use tongban_runtime::lang::request_lang;
use tongban_runtime::status::{self, FieldViolation};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::carrier;
use crate::events::RESULT_MATERIAL;
use crate::repo::{self, CaseRow, Party, WaybillRow};
use crate::waybill::{self, CarrierReport, NewWaybill, Purpose, WaybillError, aad};
use crate::{State, view};
use tongban_runtime::status::internal_for as internal;

/// Longest carrier event id.
const MAX_EVENT_ID: usize = 128;
/// Longest location text.
const MAX_LOCATION: usize = 200;
/// Longest postal address.
const MAX_ADDRESS: usize = 200;
/// Roles that may make waybills by hand.
const MAKERS: [Role; 4] = [Role::Clerk, Role::Reviewer, Role::OfficeHead, Role::Admin];
/// Roles that may read waybills.
const READERS: [Role; 6] = [
    Role::Clerk,
    Role::Reviewer,
    Role::OfficeHead,
    Role::Supervisor,
    Role::Carrier,
    Role::Admin,
];

/// The gRPC service.
pub struct Logistics {
    state: State,
}

impl Logistics {
    pub(crate) fn new(state: State) -> Self {
        Self { state }
    }
}

fn waybill_status(lang: Lang, err: WaybillError) -> Status {
    match err {
        WaybillError::NotFound => not_found_waybill(lang),
        WaybillError::Sql(err) => status::internal(lang, &err),
        WaybillError::Store(err) => status::internal(lang, &err),
    }
}

fn not_found_waybill(lang: Lang) -> Status {
    status::not_found(lang, "该运单", "waybill")
}

fn not_found_case(lang: Lang) -> Status {
    status::not_found(lang, "该办件", "case")
}

/// Whether the caller may see the case's waybills: carriers, supervisors and admins see all;
/// clerks and reviewers the cases of their office (window or responsible).
fn may_see(claims: &Claims, case_id_offices: (&str, &str)) -> bool {
    matches!(claims.role, Role::Carrier | Role::Supervisor | Role::Admin)
        || claims.office == case_id_offices.0
        || claims.office == case_id_offices.1
}

fn parse_tracking_number(raw: &str, lang: Lang) -> Result<TrackingNumber, Status> {
    TrackingNumber::parse(raw).map_err(|err| {
        status::invalid_argument(
            lang,
            vec![FieldViolation::new("tracking_number", err.text(lang))],
        )
    })
}

impl Logistics {
    async fn full(
        &self,
        conn: &mut PgConnection,
        row: &WaybillRow,
        claims: &Claims,
    ) -> Result<pb::Waybill, sqlx::Error> {
        let events = repo::events_of(conn, &row.tracking_number).await?;
        let custody = repo::custody_of(conn, &row.tracking_number).await?;
        let mut out = view::waybill_pb(row, &events, &custody);
        // The courier needs the whole address to deliver; nobody else sees it.
        if claims.role == Role::Carrier
            && let (Some(sealed), Some(recipient)) =
                (&row.recipient_address_sealed, out.recipient.as_mut())
            && let Ok(address) = self.state.pii.open(sealed, &aad(row.case_id))
        {
            recipient.address = address;
        }
        Ok(out)
    }

    async fn case_for(
        &self,
        conn: &mut PgConnection,
        claims: &Claims,
        case_id: Uuid,
        lang: Lang,
    ) -> Result<CaseRow, Status> {
        repo::case(conn, case_id)
            .await
            .map_err(internal(lang))?
            .filter(|c| may_see(claims, (&c.window_office_id, &c.responsible_office_id)))
            .ok_or_else(|| not_found_case(lang))
    }
}

fn parse_case_id(raw: &str, lang: Lang) -> Result<Uuid, Status> {
    Uuid::parse_str(raw.trim()).map_err(|_| {
        status::invalid_argument(
            lang,
            vec![FieldViolation::new(
                "case_id",
                lang.pick("办件编号应为 UUID", "case_id must be a UUID"),
            )],
        )
    })
}

#[tonic::async_trait]
impl LogisticsService for Logistics {
    #[tracing::instrument(skip_all, fields(tongban.case_number = tracing::field::Empty))]
    async fn create_waybill(
        &self,
        request: Request<pb::CreateWaybillRequest>,
    ) -> Result<Response<pb::Waybill>, Status> {
        let lang = request_lang(request.metadata());
        let claims = caller(&request)?;
        claims.require(&MAKERS, lang)?;
        let req = request.into_inner();
        let case_id = parse_case_id(&req.case_id, lang)?;
        let mut errors = Vec::new();
        let purpose = match req.purpose() {
            pb::WaybillPurpose::Originals => Some(Purpose::Originals),
            pb::WaybillPurpose::Result => Some(Purpose::Result),
            pb::WaybillPurpose::Other => Some(Purpose::Other),
            pb::WaybillPurpose::Unspecified => {
                errors.push(FieldViolation::new(
                    "purpose",
                    lang.pick("必须选择寄递用途", "choose a purpose"),
                ));
                None
            }
        };
        let codes: Vec<String> = req
            .material_codes
            .iter()
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())
            .collect();
        if purpose == Some(Purpose::Originals) && codes.is_empty() {
            errors.push(FieldViolation::new(
                "material_codes",
                lang.pick("寄递原件须列明材料", "list the materials sent"),
            ));
        }
        let recipient_req = req.recipient.clone().unwrap_or_default();
        let address = recipient_req.address.trim().to_owned();
        if address.chars().count() > MAX_ADDRESS || address.chars().any(char::is_control) {
            errors.push(FieldViolation::new(
                "recipient.address",
                lang.pick(
                    "地址过长或含控制字符",
                    "address too long or has control characters",
                ),
            ));
        }
        let reference = &self.state.reference;
        let office = |field: &'static str, id: &str, errors: &mut Vec<FieldViolation>| {
            let found = view::office_party(reference, id.trim());
            if found.is_none() {
                errors.push(FieldViolation::new(
                    field,
                    lang.pick("机构不在目录中", "office not in the directory"),
                ));
            }
            found
        };
        let sender_id = req
            .sender
            .as_ref()
            .map(|s| s.office_id.trim().to_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| claims.office.clone());
        let sender = office("sender.office_id", &sender_id, &mut errors);
        let recipient_office = (!recipient_req.office_id.trim().is_empty())
            .then(|| office("recipient.office_id", &recipient_req.office_id, &mut errors))
            .flatten();
        let Some((purpose, sender)) = purpose.zip(sender).filter(|_| errors.is_empty()) else {
            return Err(status::invalid_argument(lang, errors));
        };
        let mut tx = self.state.pool.begin().await.map_err(internal(lang))?;
        let case = self.case_for(&mut tx, &claims, case_id, lang).await?;
        tracing::Span::current().record("tongban.case_number", case.case_number.as_str());
        let (recipient, sealed) = match recipient_office {
            Some(office) => (office, None),
            None => {
                let sealed = if address.is_empty() {
                    case.address_sealed.clone()
                } else {
                    Some(self.state.pii.seal(&address, &aad(case_id)))
                };
                if sealed.is_none() {
                    return Err(status::invalid_argument(
                        lang,
                        vec![FieldViolation::new(
                            "recipient.address",
                            lang.pick(
                                "寄给申请人须填写地址（受理时未留邮寄地址）",
                                "an address is needed: none was given at the window",
                            ),
                        )],
                    ));
                }
                let party: Party =
                    view::applicant_party(reference, &self.state.pii, &case, sealed.as_deref());
                (party, sealed)
            }
        };
        let codes = if codes.is_empty() {
            vec![RESULT_MATERIAL.to_owned()]
        } else {
            codes
        };
        let made = waybill::create(
            &mut tx,
            &self.state.config.tariff,
            NewWaybill {
                case: &case,
                purpose,
                sender,
                recipient,
                recipient_address_sealed: sealed,
                material_codes: codes,
                source: None,
                carrier: carrier::SIMULATED,
                actor: &claims.user,
                role: claims.role.as_str(),
                office_id: &claims.office,
                now: self.state.clock.now(),
            },
        )
        .await
        .map_err(|e| waybill_status(lang, e))?
        .ok_or_else(|| {
            status::internal(
                lang,
                &std::io::Error::other("waybill without source not stored"),
            )
        })?;
        let out = self
            .full(&mut tx, &made, &claims)
            .await
            .map_err(internal(lang))?;
        tx.commit().await.map_err(internal(lang))?;
        Ok(Response::new(out))
    }

    #[tracing::instrument(skip_all, fields(tongban.tracking_number = tracing::field::Empty))]
    async fn record_tracking_event(
        &self,
        request: Request<pb::RecordTrackingEventRequest>,
    ) -> Result<Response<pb::Waybill>, Status> {
        let lang = request_lang(request.metadata());
        let claims = caller(&request)?;
        claims.require(&[Role::Carrier], lang)?;
        let req = request.into_inner();
        let mut errors = Vec::new();
        let number = TrackingNumber::parse(&req.tracking_number)
            .map_err(|err| errors.push(FieldViolation::new("tracking_number", err.text(lang))))
            .ok();
        let status = view::status_from_pb(req.status());
        if status.is_none() {
            errors.push(FieldViolation::new(
                "status",
                lang.pick("必须填写运单状态", "a status is required"),
            ));
        }
        let event_id = req.carrier_event_id.trim().to_owned();
        if event_id.is_empty() || event_id.len() > MAX_EVENT_ID || !event_id.is_ascii() {
            errors.push(FieldViolation::new(
                "carrier_event_id",
                lang.pick(
                    "必须填写承运商事件编号（ASCII，不超过 128 个字符）",
                    "carrier_event_id is required (ASCII, at most 128 characters)",
                ),
            ));
        }
        let location = req.location.trim().to_owned();
        if location.chars().count() > MAX_LOCATION || location.chars().any(char::is_control) {
            errors.push(FieldViolation::new(
                "location",
                lang.pick(
                    "地点过长或含控制字符",
                    "location too long or has control characters",
                ),
            ));
        }
        let now = self.state.clock.now();
        let occurred_at = datetime(req.occurred_at.as_ref()).unwrap_or(now);
        let Some((number, status)) = number.zip(status).filter(|_| errors.is_empty()) else {
            return Err(status::invalid_argument(lang, errors));
        };
        tracing::Span::current().record("tongban.tracking_number", number.as_str());
        let mut tx = self.state.pool.begin().await.map_err(internal(lang))?;
        let report = CarrierReport {
            carrier_event_id: event_id,
            status,
            location,
            occurred_at,
        };
        // The courier who scanned it is the one in the chain of custody.
        let courier = format!("寄递员 {}", claims.user);
        let (row, outcome) =
            waybill::record(&mut tx, &number, &report, &courier, &claims.user, now)
                .await
                .map_err(|e| waybill_status(lang, e))?;
        tracing::info!(?outcome, "carrier event");
        let out = self
            .full(&mut tx, &row, &claims)
            .await
            .map_err(internal(lang))?;
        tx.commit().await.map_err(internal(lang))?;
        Ok(Response::new(out))
    }

    #[tracing::instrument(skip_all)]
    async fn get_waybill(
        &self,
        request: Request<pb::GetWaybillRequest>,
    ) -> Result<Response<pb::Waybill>, Status> {
        let lang = request_lang(request.metadata());
        let claims = caller(&request)?;
        claims.require(&READERS, lang)?;
        let number = parse_tracking_number(&request.get_ref().tracking_number, lang)?;
        let mut conn = self.state.pool.acquire().await.map_err(internal(lang))?;
        let row = repo::waybill(&mut conn, number.as_str(), false)
            .await
            .map_err(internal(lang))?
            .ok_or_else(|| not_found_waybill(lang))?;
        let case = repo::case(&mut conn, row.case_id)
            .await
            .map_err(internal(lang))?;
        let visible = case
            .as_ref()
            .is_some_and(|c| may_see(&claims, (&c.window_office_id, &c.responsible_office_id)))
            || may_see(&claims, (&row.sender.office_id, &row.recipient.office_id));
        if !visible {
            return Err(not_found_waybill(lang));
        }
        let out = self
            .full(&mut conn, &row, &claims)
            .await
            .map_err(internal(lang))?;
        Ok(Response::new(out))
    }

    #[tracing::instrument(skip_all)]
    async fn list_waybills(
        &self,
        request: Request<pb::ListWaybillsRequest>,
    ) -> Result<Response<pb::ListWaybillsResponse>, Status> {
        let lang = request_lang(request.metadata());
        let claims = caller(&request)?;
        claims.require(&READERS, lang)?;
        let case_id = parse_case_id(&request.get_ref().case_id, lang)?;
        let mut conn = self.state.pool.acquire().await.map_err(internal(lang))?;
        let Some(case) = repo::case(&mut conn, case_id)
            .await
            .map_err(internal(lang))?
        else {
            // Not routed yet (or unknown): nothing travels.
            return Ok(Response::new(pb::ListWaybillsResponse::default()));
        };
        if !may_see(
            &claims,
            (&case.window_office_id, &case.responsible_office_id),
        ) {
            return Err(not_found_case(lang));
        }
        let rows = repo::waybills_of(&mut conn, case_id)
            .await
            .map_err(internal(lang))?;
        let mut waybills = Vec::with_capacity(rows.len());
        for row in &rows {
            waybills.push(
                self.full(&mut conn, row, &claims)
                    .await
                    .map_err(internal(lang))?,
            );
        }
        Ok(Response::new(pb::ListWaybillsResponse { waybills }))
    }
}
