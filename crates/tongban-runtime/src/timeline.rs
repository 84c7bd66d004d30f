//! The proto entry of a stored timeline line. It stays here, not with the other mappings in
//! `tongban_access::convert`, because the line is a store type (sqlx); [`crate::convert`] offers
//! it beside them.

use tongban_access::convert::{status_to_pb, timestamp};
use tongban_proto::common::v1 as pb;
use tongban_store::timeline::TimelineLine;

/// Proto entry of a stored timeline line (办件进度).
///
/// # Errors
/// A stored status that is not a case status: the row is corrupt, and is reported as a decode
/// error of the read, never shown as some other status.
pub fn timeline_entry(line: &TimelineLine) -> Result<pb::TimelineEntry, sqlx::Error> {
    let status: tongban_domain::case::CaseStatus = line
        .status
        .parse()
        .map_err(|err| sqlx::Error::Decode(Box::new(err)))?;
    Ok(pb::TimelineEntry {
        at: Some(timestamp(line.at)),
        status: status_to_pb(status).into(),
        description: line.description.clone(),
        description_en: line.description_en.clone(),
        office_id: line.office_id.clone(),
    })
}

#[cfg(test)]
mod tests {
    use tongban_domain::case::CaseStatus;

    use super::*;

    #[test]
    fn timeline_line_becomes_an_entry() {
        let at = chrono::DateTime::from_timestamp(1_790_000_000, 0).expect("in range");
        let mut line = TimelineLine {
            at,
            status: CaseStatus::Accepted.as_str().to_owned(),
            description: "五台县政务服务中心已受理".to_owned(),
            description_en: "Accepted".to_owned(),
            office_id: "140922-zwfw".to_owned(),
        };
        let entry = timeline_entry(&line).expect("a known status");
        assert_eq!(entry.at, Some(timestamp(at)));
        assert_eq!(entry.status(), pb::CaseStatus::Accepted);
        assert_eq!(entry.description, line.description);
        assert_eq!(entry.description_en, "Accepted");
        assert_eq!(entry.office_id, "140922-zwfw");

        // A status this suite never writes is an error, not some other status.
        line.status = "no-such-status".to_owned();
        assert!(matches!(
            timeline_entry(&line),
            Err(sqlx::Error::Decode(err)) if err.to_string().contains("no-such-status")
        ));
    }
}
