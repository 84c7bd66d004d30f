//! LogisticsService: waybills by hand for the unusual cases, the carrier's callback, and the
//! waybills of a case with their history and chain of custody. Every handler answers through
//! [`LogisticsError::status`]; the two that change waybills take one step of the executor.

use sqlx::PgConnection;
use tongban_domain::i18n::{Lang, Localized};
use tongban_domain::logistics::{TrackingNumber, WaybillPurpose, carried_by};
use tongban_proto::logistics::v1 as pb;
use tongban_proto::logistics::v1::logistics_service_server::LogisticsService;
use tongban_runtime::auth::{Claims, Role, caller};
use tongban_runtime::convert::datetime;
use tongban_runtime::lang::request_lang;
use tongban_runtime::status::FieldViolation;
use tongban_step::Actor;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::carrier;
use crate::error::LogisticsError;
use crate::events::RESULT_MATERIAL;
use crate::limits;
use crate::repo::{self, CaseRow, Party, WaybillRow};
use crate::waybill::{self, CarrierReport, NewWaybill, Recorded, aad};
use crate::{EXECUTOR, State, view};

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

/// Whether the caller may see the case's waybills: supervisors and admins see all; clerks and
/// reviewers the cases of their office (window or responsible); a carrier a case only through
/// the waybills given to it ([`may_see_waybill`]).
fn may_see(claims: &Claims, case_id_offices: (&str, &str)) -> bool {
    matches!(claims.role, Role::Supervisor | Role::Admin)
        || (claims.role != Role::Carrier
            && (claims.office == case_id_offices.0 || claims.office == case_id_offices.1))
}

/// Whether a carrier may see a waybill: only one given to it (its token's office names the
/// carrier). Other roles are not asked here.
fn may_see_waybill(claims: &Claims, row: &WaybillRow) -> bool {
    claims.role != Role::Carrier || carried_by(&row.carrier, &claims.office)
}

fn parse_tracking_number(raw: &str, lang: Lang) -> Result<TrackingNumber, LogisticsError> {
    let mut errors = Vec::new();
    if !limits::chars(&limits::TRACKING_NUMBER, raw, &[], lang, &mut errors) {
        return Err(LogisticsError::Invalid(errors));
    }
    TrackingNumber::parse(raw).map_err(|err| {
        LogisticsError::Invalid(vec![FieldViolation::new("tracking_number", err.text(lang))])
    })
}

fn parse_case_id(raw: &str, lang: Lang) -> Result<Uuid, LogisticsError> {
    let mut errors = Vec::new();
    if !limits::chars(&limits::CASE_ID, raw, &[], lang, &mut errors) {
        return Err(LogisticsError::Invalid(errors));
    }
    Uuid::parse_str(raw.trim()).map_err(|_| {
        LogisticsError::Invalid(vec![FieldViolation::new(
            "case_id",
            lang.pick("办件编号应为 UUID", "case_id must be a UUID"),
        )])
    })
}

/// The limits of a CreateWaybill request (limits.rs), every field at once.
fn check_create_limits(
    req: &pb::CreateWaybillRequest,
    lang: Lang,
    errors: &mut Vec<FieldViolation>,
) {
    let address = |a: &pb::Address,
                   limits: [&tongban_domain::field_limits::FieldLimit; 5],
                   errors: &mut Vec<FieldViolation>| {
        let values = [&a.office_id, &a.name, &a.division, &a.address, &a.phone];
        for (limit, value) in limits.into_iter().zip(values) {
            limits::chars(limit, value, &[], lang, errors);
        }
    };
    if let Some(sender) = &req.sender {
        address(
            sender,
            [
                &limits::SENDER_OFFICE_ID,
                &limits::SENDER_NAME,
                &limits::SENDER_DIVISION,
                &limits::SENDER_ADDRESS,
                &limits::SENDER_PHONE,
            ],
            errors,
        );
    }
    if let Some(recipient) = &req.recipient {
        address(
            recipient,
            [
                &limits::RECIPIENT_OFFICE_ID,
                &limits::RECIPIENT_NAME,
                &limits::RECIPIENT_DIVISION,
                &limits::RECIPIENT_ADDRESS,
                &limits::RECIPIENT_PHONE,
            ],
            errors,
        );
    }
    if limits::items(
        &limits::MATERIAL_CODES,
        req.material_codes.len(),
        lang,
        errors,
    ) {
        for (i, code) in req.material_codes.iter().enumerate() {
            limits::chars(&limits::MATERIAL_CODE, code, &[i], lang, errors);
        }
    }
}

/// Answers a handler's result: the message, or the status of its error in `lang`.
fn answer<T>(lang: Lang, result: Result<T, LogisticsError>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(|err| err.status(lang))
}

impl Logistics {
    async fn full(
        &self,
        conn: &mut PgConnection,
        row: &WaybillRow,
        claims: &Claims,
    ) -> Result<pb::Waybill, LogisticsError> {
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
    ) -> Result<CaseRow, LogisticsError> {
        repo::case(conn, case_id)
            .await?
            .filter(|c| may_see(claims, (&c.window_office_id, &c.responsible_office_id)))
            .ok_or(LogisticsError::CaseNotFound)
    }

    async fn create(
        &self,
        claims: Claims,
        req: pb::CreateWaybillRequest,
        lang: Lang,
    ) -> Result<pb::Waybill, LogisticsError> {
        claims.require(&MAKERS, lang)?;
        let case_id = parse_case_id(&req.case_id, lang)?;
        let mut errors = Vec::new();
        check_create_limits(&req, lang, &mut errors);
        if !errors.is_empty() {
            return Err(LogisticsError::Invalid(errors));
        }
        let purpose = match req.purpose() {
            pb::WaybillPurpose::Originals => Some(WaybillPurpose::Originals),
            pb::WaybillPurpose::Result => Some(WaybillPurpose::Result),
            pb::WaybillPurpose::Other => Some(WaybillPurpose::Other),
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
        if purpose == Some(WaybillPurpose::Originals) && codes.is_empty() {
            errors.push(FieldViolation::new(
                "material_codes",
                lang.pick("寄递原件须列明材料", "list the materials sent"),
            ));
        }
        let recipient_req = req.recipient.clone().unwrap_or_default();
        let address = recipient_req.address.trim().to_owned();
        if address.chars().any(char::is_control) {
            errors.push(FieldViolation::new(
                "recipient.address",
                lang.pick("地址不能含控制字符", "address has control characters"),
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
        // The sender is the caller's office, from the token; naming another is refused (an
        // admin, acting for an office, may name it).
        let named = req
            .sender
            .as_ref()
            .map(|s| s.office_id.trim().to_owned())
            .filter(|s| !s.is_empty());
        let sender_id = match named {
            Some(named) if claims.role == Role::Admin => named,
            Some(named) if named != claims.office => {
                return Err(LogisticsError::OtherSender);
            }
            _ => claims.office.clone(),
        };
        let sender = office("sender.office_id", &sender_id, &mut errors);
        let recipient_office = (!recipient_req.office_id.trim().is_empty())
            .then(|| office("recipient.office_id", &recipient_req.office_id, &mut errors))
            .flatten();
        let Some((purpose, sender)) = purpose.zip(sender).filter(|_| errors.is_empty()) else {
            return Err(LogisticsError::Invalid(errors));
        };
        let now = self.state.clock.now();
        let actor = Actor::person(&claims.user, claims.role.as_str(), &claims.office);
        let mut step = EXECUTOR.begin(&self.state.pool, actor, now).await?;
        let case = self.case_for(step.conn(), &claims, case_id).await?;
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
                    return Err(LogisticsError::Invalid(vec![FieldViolation::new(
                        "recipient.address",
                        lang.pick(
                            "寄给申请人须填写地址（受理时未留邮寄地址）",
                            "an address is needed: none was given at the window",
                        ),
                    )]));
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
        let (made, effects) = waybill::create(
            step.conn(),
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
                now,
            },
        )
        .await?
        .ok_or(LogisticsError::NotStored)?;
        step.join("waybill.create", &waybill::case_ref(&case));
        step.apply(effects).await?;
        let out = self.full(step.conn(), &made, &claims).await?;
        step.commit().await?;
        Ok(out)
    }

    async fn record(
        &self,
        claims: Claims,
        req: pb::RecordTrackingEventRequest,
        lang: Lang,
    ) -> Result<pb::Waybill, LogisticsError> {
        claims.require(&[Role::Carrier], lang)?;
        let mut errors = Vec::new();
        let number = match parse_tracking_number(&req.tracking_number, lang) {
            Ok(number) => Some(number),
            Err(LogisticsError::Invalid(found)) => {
                errors.extend(found);
                None
            }
            Err(other) => return Err(other),
        };
        let status = view::status_from_pb(req.status());
        if status.is_none() {
            errors.push(FieldViolation::new(
                "status",
                lang.pick("必须填写运单状态", "a status is required"),
            ));
        }
        let event_id = req.carrier_event_id.trim().to_owned();
        let fits = limits::chars(
            &limits::CARRIER_EVENT_ID,
            &req.carrier_event_id,
            &[],
            lang,
            &mut errors,
        );
        if fits && (event_id.is_empty() || !event_id.is_ascii()) {
            errors.push(FieldViolation::new(
                "carrier_event_id",
                lang.pick(
                    "必须填写承运商事件编号（ASCII，不超过 128 个字符）",
                    "carrier_event_id is required (ASCII, at most 128 characters)",
                ),
            ));
        }
        let location = req.location.trim().to_owned();
        let fits = limits::chars(&limits::LOCATION, &req.location, &[], lang, &mut errors);
        if fits && location.chars().any(char::is_control) {
            errors.push(FieldViolation::new(
                "location",
                lang.pick("地点不能含控制字符", "location has control characters"),
            ));
        }
        let now = self.state.clock.now();
        let occurred_at = datetime(req.occurred_at.as_ref()).unwrap_or(now);
        let Some((number, status)) = number.zip(status).filter(|_| errors.is_empty()) else {
            return Err(LogisticsError::Invalid(errors));
        };
        tracing::Span::current().record("tongban.tracking_number", number.as_str());
        let report = CarrierReport {
            carrier_event_id: event_id,
            status,
            location,
            occurred_at,
        };
        // The courier who scanned it is the one in the chain of custody.
        let courier = format!("寄递员 {}", claims.user);
        // The step happens when the carrier saw it: its events and audit carry that moment.
        let actor = Actor::person(&claims.user, "carrier", "");
        let mut step = EXECUTOR.begin(&self.state.pool, actor, occurred_at).await?;
        let Recorded {
            row,
            outcome,
            case,
            effects,
        } = waybill::record(step.conn(), &number, &report, &claims.office, &courier, now).await?;
        if let Some(case) = &case {
            step.join("waybill.track", case);
        }
        step.apply(effects).await?;
        tracing::info!(?outcome, "carrier event");
        let out = self.full(step.conn(), &row, &claims).await?;
        step.commit().await?;
        Ok(out)
    }

    async fn get(
        &self,
        claims: Claims,
        req: pb::GetWaybillRequest,
        lang: Lang,
    ) -> Result<pb::Waybill, LogisticsError> {
        claims.require(&READERS, lang)?;
        let number = parse_tracking_number(&req.tracking_number, lang)?;
        let mut conn = self.state.pool.acquire().await?;
        let row = repo::waybill(&mut conn, number.as_str(), false)
            .await?
            .ok_or(LogisticsError::WaybillNotFound)?;
        let case = repo::case(&mut conn, row.case_id).await?;
        let visible = if claims.role == Role::Carrier {
            may_see_waybill(&claims, &row)
        } else {
            case.as_ref()
                .is_some_and(|c| may_see(&claims, (&c.window_office_id, &c.responsible_office_id)))
                || may_see(&claims, (&row.sender.office_id, &row.recipient.office_id))
        };
        if !visible {
            return Err(LogisticsError::WaybillNotFound);
        }
        self.full(&mut conn, &row, &claims).await
    }

    async fn list(
        &self,
        claims: Claims,
        req: pb::ListWaybillsRequest,
        lang: Lang,
    ) -> Result<pb::ListWaybillsResponse, LogisticsError> {
        claims.require(&READERS, lang)?;
        let case_id = parse_case_id(&req.case_id, lang)?;
        let mut conn = self.state.pool.acquire().await?;
        let Some(case) = repo::case(&mut conn, case_id).await? else {
            // Not routed yet (or unknown): nothing travels.
            return Ok(pb::ListWaybillsResponse::default());
        };
        // A carrier lists the case's waybills given to it (none: an empty list, as for a case
        // not routed yet).
        if claims.role != Role::Carrier
            && !may_see(
                &claims,
                (&case.window_office_id, &case.responsible_office_id),
            )
        {
            return Err(LogisticsError::CaseNotFound);
        }
        let rows = repo::waybills_of(&mut conn, case_id).await?;
        let mut waybills = Vec::with_capacity(rows.len());
        for row in rows.iter().filter(|row| may_see_waybill(&claims, row)) {
            waybills.push(self.full(&mut conn, row, &claims).await?);
        }
        Ok(pb::ListWaybillsResponse { waybills })
    }
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
        answer(lang, self.create(claims, request.into_inner(), lang).await)
    }

    #[tracing::instrument(skip_all, fields(tongban.tracking_number = tracing::field::Empty))]
    async fn record_tracking_event(
        &self,
        request: Request<pb::RecordTrackingEventRequest>,
    ) -> Result<Response<pb::Waybill>, Status> {
        let lang = request_lang(request.metadata());
        let claims = caller(&request)?;
        answer(lang, self.record(claims, request.into_inner(), lang).await)
    }

    #[tracing::instrument(skip_all)]
    async fn get_waybill(
        &self,
        request: Request<pb::GetWaybillRequest>,
    ) -> Result<Response<pb::Waybill>, Status> {
        let lang = request_lang(request.metadata());
        let claims = caller(&request)?;
        answer(lang, self.get(claims, request.into_inner(), lang).await)
    }

    #[tracing::instrument(skip_all)]
    async fn list_waybills(
        &self,
        request: Request<pb::ListWaybillsRequest>,
    ) -> Result<Response<pb::ListWaybillsResponse>, Status> {
        let lang = request_lang(request.metadata());
        let claims = caller(&request)?;
        answer(lang, self.list(claims, request.into_inner(), lang).await)
    }
}
