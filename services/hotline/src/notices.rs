//! 办结公示: the public list of completed cases. Only cases whose status is `completed` are read,
//! so an uncompleted or withdrawn case can never appear; the applicant's name is the masked one
//! the read model holds, and no other personal data is in it.

use chrono::{DateTime, Utc};
use tongban_domain::i18n::Lang;
use tongban_proto::common::v1::Decision;
use tongban_proto::hotline::v1::{
    CompletionNotice, ListCompletionNoticesRequest, ListCompletionNoticesResponse,
};
use tongban_runtime::convert::{datetime, timestamp};

use crate::complaints::page;
use crate::error::HotlineError;
use crate::stored::Stored;
use crate::{State, view};

#[derive(sqlx::FromRow)]
struct NoticeRow {
    case_number: String,
    matter_code: String,
    matter_name: String,
    responsible_office_id: String,
    window_office_id: String,
    decision: Option<Stored<tongban_domain::case::Decision>>,
    status_at: DateTime<Utc>,
    applicant_name_masked: String,
}

/// The result as published, `(decision, zh, en)`.
fn result(
    decision: Option<tongban_domain::case::Decision>,
) -> (Decision, &'static str, &'static str) {
    use tongban_domain::case::Decision as Decided;
    match decision {
        Some(Decided::Approve) => (Decision::Approve, "准予办理", "approved"),
        Some(Decided::Deny) => (Decision::Deny, "不予办理", "denied"),
        None => (Decision::Unspecified, "已办结", "completed"),
    }
}

/// ListCompletionNotices.
pub(crate) async fn list(
    state: &State,
    req: &ListCompletionNoticesRequest,
    lang: Lang,
) -> Result<ListCompletionNoticesResponse, HotlineError> {
    let office = crate::filters::office(&state.reference, "office_id", &req.office_id, lang)?
        .unwrap_or_default();
    let mut conn = state.pool.acquire().await?;
    let rows: Vec<NoticeRow> = sqlx::query_as(
        "SELECT case_number, matter_code, matter_name, responsible_office_id, window_office_id,
                decision, status_at, applicant_name_masked
         FROM case_status
         WHERE status = 'completed'
           AND ($1 = '' OR responsible_office_id = $1 OR window_office_id = $1)
           AND ($2::timestamptz IS NULL OR status_at >= $2)
           AND ($3::timestamptz IS NULL OR status_at < $3)
         ORDER BY status_at DESC, case_number DESC LIMIT $4",
    )
    .bind(office)
    .bind(datetime(req.from.as_ref()))
    .bind(datetime(req.to.as_ref()))
    .bind(page(req.limit))
    .fetch_all(&mut *conn)
    .await?;
    let reference = &state.reference;
    Ok(ListCompletionNoticesResponse {
        notices: rows
            .into_iter()
            .map(|row| {
                let (decision, zh, en) = result(row.decision.map(|d| d.0));
                CompletionNotice {
                    responsible_office_name: view::office_name(
                        reference,
                        &row.responsible_office_id,
                    ),
                    window_office_name: view::office_name(reference, &row.window_office_id),
                    case_number: row.case_number,
                    matter_code: row.matter_code,
                    matter_name: row.matter_name,
                    responsible_office_id: row.responsible_office_id,
                    window_office_id: row.window_office_id,
                    decision: decision.into(),
                    result: zh.to_owned(),
                    result_en: en.to_owned(),
                    completed_at: Some(timestamp(row.status_at)),
                    applicant_name_masked: row.applicant_name_masked,
                }
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results() {
        use tongban_domain::case::Decision as Decided;
        assert_eq!(result(Some(Decided::Approve)).1, "准予办理");
        assert_eq!(result(Some(Decided::Deny)).0, Decision::Deny);
        assert_eq!(result(None).2, "completed");
    }
}
