//! Waybills made from case events: paper originals when a 异地代收代办 case is routed, the result
//! when a case to be mailed is approved.

use sqlx::PgConnection;
use tongban_bus::{EventHandler, HandleError};
use tongban_domain::case::Decision;
use tongban_domain::catalog::DeliveryMethod;
use tongban_domain::logistics::originals_to_ship;
use tongban_proto::events::v1::{CaseRouted, Event, event::Body};
use tongban_runtime::convert::{
    datetime, decision_from_pb, delivery_from_pb, form_from_pb, mode_from_pb,
};
use uuid::Uuid;

use tongban_domain::logistics::WaybillPurpose;
use tongban_step::{Actor, Trace};

use crate::error::LogisticsError;
use crate::repo::{self, CaseRow};
use crate::waybill::{self, NewWaybill};
use crate::{EXECUTOR, SERVICE, State, carrier, view};

/// The material code of a mailed result (办理结果).
pub const RESULT_MATERIAL: &str = "RESULT";

/// Consumer of `case.>`.
pub struct CaseEvents {
    state: State,
}

impl CaseEvents {
    pub(crate) fn new(state: State) -> Self {
        Self { state }
    }
}

/// A failed read of a stored case: a row that does not decode can never be handled (the event
/// is rejected, never applied to a guessed case); anything else is retried.
fn stored(err: sqlx::Error) -> HandleError {
    match err {
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            HandleError::Reject(format!("stored case does not decode: {err}"))
        }
        other => other.into(),
    }
}

fn handle_error(err: LogisticsError) -> HandleError {
    match err {
        LogisticsError::Sql(err) => stored(err),
        LogisticsError::Store(err) => err.into(),
        other => HandleError::Reject(other.to_string()),
    }
}

/// Makes a waybill from a case event as the service acting for `office_id`, in the case's trace.
async fn make(
    conn: &mut PgConnection,
    state: &State,
    office_id: &str,
    new: NewWaybill<'_>,
) -> Result<(), HandleError> {
    let now = new.now;
    let case = waybill::case_ref(new.case);
    let Some((_, effects)) = waybill::create(conn, &state.config.tariff, new)
        .await
        .map_err(handle_error)?
    else {
        return Ok(());
    };
    let actor = Actor::person(SERVICE, "service", office_id);
    let trace = Trace::of_case("waybill.create", &case);
    tongban_step::apply(conn, EXECUTOR.producer(), &actor, now, &trace, effects).await?;
    Ok(())
}

impl EventHandler for CaseEvents {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        event: &Event,
        _subject: &str,
    ) -> Result<(), HandleError> {
        if event.producer == SERVICE {
            return Ok(());
        }
        let case_id = Uuid::parse_str(&event.case_id)
            .map_err(|_| HandleError::Reject("case id is not a UUID".to_owned()))?;
        match &event.body {
            Some(Body::CaseRouted(routed)) => self.routed(conn, event, case_id, routed).await,
            Some(Body::CaseDecided(decided))
                if decision_from_pb(decided.decision()) == Some(Decision::Approve) =>
            {
                self.approved(conn, event, case_id).await
            }
            _ => Ok(()),
        }
    }
}

impl CaseEvents {
    /// case.routed: remember the case; under 异地代收代办 ship the paper originals.
    async fn routed(
        &self,
        conn: &mut PgConnection,
        event: &Event,
        case_id: Uuid,
        routed: &CaseRouted,
    ) -> Result<(), HandleError> {
        let Some(summary) = &routed.summary else {
            return Err(HandleError::Reject(
                "routed event without a summary".to_owned(),
            ));
        };
        let now = self.state.clock.now();
        let applicant = summary.applicant.clone().unwrap_or_default();
        let delivery = summary
            .delivery
            .as_ref()
            .and_then(|d| delivery_from_pb(d.method()));
        let mode = mode_from_pb(summary.mode());
        let case = CaseRow {
            case_id,
            case_number: event.case_number.clone(),
            matter_code: summary.matter_code.clone(),
            mode,
            window_office_id: summary.window_office_id.clone(),
            responsible_office_id: summary.responsible_office_id.clone(),
            home_division: summary.home_division.clone(),
            applicant_name_masked: applicant.name,
            phone_masked: applicant.phone_masked,
            delivery_method: delivery,
            address_sealed: (!summary.sealed_address.is_empty())
                .then(|| summary.sealed_address.clone()),
            traceparent: tongban_telemetry::traceparent_of(&tracing::Span::current()),
            routed_at: datetime(event.occurred_at.as_ref()).unwrap_or(now),
        };
        repo::insert_case(conn, &case).await?;
        let (Some(matter), Some(mode)) = (
            self.state.reference.catalog.matter(&summary.matter_code),
            mode,
        ) else {
            return Ok(());
        };
        let codes = originals_to_ship(
            matter,
            mode,
            summary
                .materials
                .iter()
                .filter_map(|m| form_from_pb(m.form()).map(|f| (m.material_code.as_str(), f))),
        );
        if codes.is_empty() {
            return Ok(());
        }
        let reference = &self.state.reference;
        let (Some(sender), Some(recipient)) = (
            view::office_party(reference, &case.window_office_id),
            view::office_party(reference, &case.responsible_office_id),
        ) else {
            return Err(HandleError::Reject(
                "window or responsible office not in the directory".to_owned(),
            ));
        };
        make(
            conn,
            &self.state,
            &case.window_office_id,
            NewWaybill {
                case: &case,
                purpose: WaybillPurpose::Originals,
                sender,
                recipient,
                recipient_address_sealed: None,
                material_codes: codes,
                source: Some(format!("routed:{case_id}")),
                carrier: carrier::SIMULATED,
                actor: SERVICE,
                now,
            },
        )
        .await
    }

    /// case.decided (准予): mail the result when the applicant asked for it (邮寄).
    async fn approved(
        &self,
        conn: &mut PgConnection,
        event: &Event,
        case_id: Uuid,
    ) -> Result<(), HandleError> {
        let Some(case) = repo::case(conn, case_id).await.map_err(stored)? else {
            return Err(HandleError::Retry(
                format!(
                    "{} decided before logistics saw it routed",
                    event.case_number
                )
                .into(),
            ));
        };
        if case.delivery_method != Some(DeliveryMethod::Mail) {
            return Ok(());
        }
        let reference = &self.state.reference;
        let Some(sender) = view::office_party(reference, &case.responsible_office_id) else {
            return Err(HandleError::Reject(
                "responsible office not in the directory".to_owned(),
            ));
        };
        let recipient = view::applicant_party(
            reference,
            &self.state.pii,
            &case,
            case.address_sealed.as_deref(),
        );
        make(
            conn,
            &self.state,
            &case.responsible_office_id,
            NewWaybill {
                case: &case,
                purpose: WaybillPurpose::Result,
                sender,
                recipient,
                recipient_address_sealed: case.address_sealed.clone(),
                material_codes: vec![RESULT_MATERIAL.to_owned()],
                source: Some(format!("decided:{case_id}")),
                carrier: carrier::SIMULATED,
                actor: SERVICE,
                now: self.state.clock.now(),
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tongban_domain::reference::ReferenceData;
    use tongban_proto::events::v1::CaseDecided;
    use tongban_runtime::pii::PiiKeys;

    use super::*;
    use crate::Config;

    /// A stored case whose delivery method the domain does not know: the approval is rejected
    /// (terminated), never taken as "not mailed" and never retried forever.
    #[tokio::test]
    async fn a_stored_case_that_does_not_decode_rejects_the_event() {
        let env = tongban_testkit::TestEnv::new().await.unwrap();
        let pool = tongban_store::connect(env.database_url(), SERVICE, 2)
            .await
            .unwrap();
        tongban_store::migrate(&pool, &crate::MIGRATOR)
            .await
            .unwrap();
        let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
        let settings = env.settings(SERVICE);
        let state = State {
            reference: Arc::new(ReferenceData::load(&deploy).unwrap()),
            pool: pool.clone(),
            pii: Arc::new(PiiKeys::generate().unwrap()),
            clock: settings.clock.clone(),
            config: Arc::new(Config::load(&deploy).unwrap()),
        };
        let case_id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO cases (case_id, case_number, matter_code, mode, window_office_id,
                responsible_office_id, home_division, applicant_name_masked, phone_masked,
                delivery_method, routed_at)
             VALUES ($1, 'TEST-1', 'GA-HJ-ZM', 'online', 'w', 'r', '140922', '王*', '138****',
                'pigeon', now())",
        )
        .bind(case_id)
        .execute(&pool)
        .await
        .unwrap();
        let decided = CaseDecided {
            decision: tongban_proto::common::v1::Decision::Approve.into(),
            ..Default::default()
        };
        let event = Event {
            case_id: case_id.to_string(),
            case_number: "TEST-1".to_owned(),
            producer: "review".to_owned(),
            body: Some(Body::CaseDecided(decided)),
            ..Default::default()
        };
        let mut conn = pool.acquire().await.unwrap();
        let handled = CaseEvents::new(state)
            .handle(&mut conn, &event, "case.decided")
            .await;
        assert!(
            matches!(&handled, Err(HandleError::Reject(reason)) if reason.contains("does not decode")),
            "{handled:?}"
        );
        drop(conn);
        pool.close().await;
        env.cleanup().await.unwrap();
    }
}
