//! Parties and the wire form of waybills.

use tongban_domain::reference::ReferenceData;
use tongban_proto::logistics::v1 as pb;
use tongban_runtime::convert::timestamp;
use tongban_runtime::pii::PiiKeys;

use tongban_domain::logistics::{WaybillPurpose, WaybillStatus};

use crate::repo::{CaseRow, CustodyRow, EventRow, Party, WaybillRow};
use crate::waybill::aad;

/// Characters of an address left visible when masked.
const ADDRESS_VISIBLE: usize = 6;

/// An address with only its beginning visible (`宁夏银川市兴庆****`).
pub fn mask_address(address: &str) -> String {
    let visible: String = address.chars().take(ADDRESS_VISIBLE).collect();
    if address.chars().count() > ADDRESS_VISIBLE {
        format!("{visible}****")
    } else {
        visible
    }
}

/// An office of the directory as a party (its division's full name as the address).
pub fn office_party(reference: &ReferenceData, office_id: &str) -> Option<Party> {
    let office = reference.directory.office(office_id)?;
    Some(Party {
        office_id: office.id.clone(),
        name: office.name.clone(),
        division: office.division.as_str().to_owned(),
        address: format!(
            "{} {}",
            reference.divisions.full_name(&office.division),
            office.name
        ),
        phone: String::new(),
    })
}

/// The applicant as the recipient of a mailed result. The division used for postage is the
/// window's: the applicant applied there (the sealed address is not parsed).
pub fn applicant_party(
    reference: &ReferenceData,
    pii: &PiiKeys,
    case: &CaseRow,
    address_sealed: Option<&[u8]>,
) -> Party {
    let address = address_sealed
        .and_then(|sealed| pii.open(sealed, &aad(case.case_id)).ok())
        .map(|a| mask_address(&a))
        .unwrap_or_default();
    let division = reference
        .directory
        .office(&case.window_office_id)
        .map(|o| o.division.as_str().to_owned())
        .unwrap_or_default();
    Party {
        office_id: String::new(),
        name: case.applicant_name_masked.clone(),
        division,
        address,
        phone: case.phone_masked.clone(),
    }
}

fn purpose_pb(purpose: WaybillPurpose) -> pb::WaybillPurpose {
    match purpose {
        WaybillPurpose::Originals => pb::WaybillPurpose::Originals,
        WaybillPurpose::Result => pb::WaybillPurpose::Result,
        WaybillPurpose::Other => pb::WaybillPurpose::Other,
    }
}

/// The wire status of a waybill status.
pub fn status_pb(status: WaybillStatus) -> pb::WaybillStatus {
    use WaybillStatus as S;
    match status {
        S::Created => pb::WaybillStatus::Created,
        S::PickedUp => pb::WaybillStatus::PickedUp,
        S::InTransit => pb::WaybillStatus::InTransit,
        S::OutForDelivery => pb::WaybillStatus::OutForDelivery,
        S::Delivered => pb::WaybillStatus::Delivered,
        S::Exception => pb::WaybillStatus::Exception,
        S::Returned => pb::WaybillStatus::Returned,
    }
}

/// The domain status of a wire status.
pub fn status_from_pb(status: pb::WaybillStatus) -> Option<WaybillStatus> {
    use WaybillStatus as S;
    match status {
        pb::WaybillStatus::Unspecified => None,
        pb::WaybillStatus::Created => Some(S::Created),
        pb::WaybillStatus::PickedUp => Some(S::PickedUp),
        pb::WaybillStatus::InTransit => Some(S::InTransit),
        pb::WaybillStatus::OutForDelivery => Some(S::OutForDelivery),
        pb::WaybillStatus::Delivered => Some(S::Delivered),
        pb::WaybillStatus::Exception => Some(S::Exception),
        pb::WaybillStatus::Returned => Some(S::Returned),
    }
}

fn address_pb(party: &Party) -> pb::Address {
    pb::Address {
        office_id: party.office_id.clone(),
        name: party.name.clone(),
        division: party.division.clone(),
        address: party.address.clone(),
        phone: party.phone.clone(),
    }
}

/// The wire form of a waybill with its history and custody chain.
pub fn waybill_pb(row: &WaybillRow, events: &[EventRow], custody: &[CustodyRow]) -> pb::Waybill {
    pb::Waybill {
        tracking_number: row.tracking_number.clone(),
        case_id: row.case_id.to_string(),
        case_number: row.case_number.clone(),
        purpose: purpose_pb(row.purpose).into(),
        status: status_pb(row.status).into(),
        sender: Some(address_pb(&row.sender)),
        recipient: Some(address_pb(&row.recipient)),
        material_codes: row.material_codes.0.clone(),
        fee_fen: row.fee_fen,
        events: events
            .iter()
            .map(|e| pb::TrackingEvent {
                status: status_pb(e.status).into(),
                location: e.location.clone(),
                occurred_at: Some(timestamp(e.occurred_at)),
                carrier_event_id: e.carrier_event_id.clone(),
            })
            .collect(),
        custody: custody
            .iter()
            .map(|c| pb::CustodyRecord {
                material_code: c.material_code.clone(),
                from_party: c.from_party.clone(),
                to_party: c.to_party.clone(),
                at: Some(timestamp(c.at)),
            })
            .collect(),
        created_at: Some(timestamp(row.created_at)),
    }
}

#[cfg(test)]
mod tests {
    use super::mask_address;

    #[test]
    fn addresses_are_masked() {
        assert_eq!(
            mask_address("宁夏银川市兴庆区解放西街1号"),
            "宁夏银川市兴****"
        );
        assert_eq!(mask_address("短地址"), "短地址");
    }
}
