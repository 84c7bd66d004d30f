//! Division codes, ID numbers, phones, credit codes, names and case numbers, with the real
//! division files in `deploy/data/divisions`.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use std::path::PathBuf;
use std::sync::OnceLock;

use chrono::NaiveDate;
use tongban_domain::case_number::{CaseNumber, CaseNumberError};
use tongban_domain::division::{DivisionCode, DivisionError, Divisions, Level};
use tongban_domain::i18n::{Lang, Localized};
use tongban_domain::validate::{
    CreditCode, CreditCodeError, IdNumber, IdNumberError, NameError, PersonName, PhoneError,
    PhoneNumber, is_sha256_hex, mask_id_number, mask_phone,
};

fn divisions() -> &'static Divisions {
    static DIVISIONS: OnceLock<Divisions> = OnceLock::new();
    DIVISIONS.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/data/divisions");
        Divisions::load(&dir).expect("the shipped division files load")
    })
}

fn code(s: &str) -> DivisionCode {
    DivisionCode::parse(s).expect("test codes are six digits")
}

fn date(s: &str) -> NaiveDate {
    s.parse().expect("test dates are valid")
}

fn today() -> NaiveDate {
    date("2026-01-15")
}

/// ISO 7064 MOD 11-2 by the GB 11643 weight table (independent of the crate's computation).
fn id_check(body: &str) -> char {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let sum: u32 = body
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    char::from(CHECK[(sum % 11) as usize])
}

fn with_check(body: &str) -> String {
    format!("{body}{}", id_check(body))
}

fn parse_id(raw: &str) -> Result<IdNumber, IdNumberError> {
    IdNumber::parse(raw, divisions(), today())
}

// ----------------------------------------------------------------------------------------------
// Divisions
// ----------------------------------------------------------------------------------------------

#[test]
fn current_divisions() {
    let d = divisions();
    assert_eq!(d.iter().count(), 3213);
    let wutai = d.parse_current(" 140922 ").unwrap();
    assert_eq!(wutai.as_str(), "140922");
    assert_eq!(d.full_name(&wutai), "山西省忻州市五台县");
    let lineage: Vec<&str> = d.lineage(&wutai).iter().map(|x| x.code.as_str()).collect();
    assert_eq!(lineage, ["140922", "140900", "140000"]);
    let division = d.get(&wutai).unwrap();
    assert_eq!(division.level, Level::County);
    assert_eq!(division.parent, Some(code("140900")));
    assert_eq!(division.province, code("140000"));
    assert_eq!(d.full_name(&code("110101")), "北京市东城区");
    assert_eq!(d.lineage(&code("110101")).len(), 2);
    assert_eq!(d.full_name(&code("419001")), "河南省济源市");
    assert_eq!(d.get(&code("640100")).unwrap().level, Level::Prefecture);
    assert_eq!(d.lineage(&code("150000")).len(), 1);
}

#[test]
fn division_errors() {
    let d = divisions();
    assert_eq!(
        d.parse_current("142223"),
        Err(DivisionError::Abolished {
            code: "142223".into(),
            year: 2000
        })
    );
    assert_eq!(
        d.parse_current("152700"),
        Err(DivisionError::Abolished {
            code: "152700".into(),
            year: 2001
        })
    );
    assert_eq!(
        d.parse_current("990101"),
        Err(DivisionError::Unknown("990101".into()))
    );
    assert_eq!(
        d.parse_current("14092"),
        Err(DivisionError::Format("14092".into()))
    );
    assert_eq!(
        d.parse_current("14092a"),
        Err(DivisionError::Format("14092a".into()))
    );
    let err = DivisionError::Abolished {
        code: "152700".into(),
        year: 2001,
    };
    assert_eq!(err.text(Lang::Zh), "行政区划代码 152700 已于 2001 年停用");
    assert!(err.text(Lang::En).contains("152700"));
    // Historic names are still shown.
    assert_eq!(d.full_name(&code("152700")), "伊克昭盟");
}

#[test]
fn division_code_helpers() {
    let wutai = code("140922");
    assert_eq!(wutai.province_code(), code("140000"));
    assert!(wutai.is_same_province(&code("140100")));
    assert!(!wutai.is_same_province(&code("640100")));
    assert!(wutai.is_within(&code("140900")));
    assert!(wutai.is_within(&code("140000")));
    assert!(!wutai.is_within(&code("140100")));
    assert_eq!(wutai.to_string(), "140922");
    assert_eq!(serde_json::to_string(&wutai).unwrap(), "\"140922\"");
    assert_eq!(
        serde_json::from_str::<DivisionCode>("\"140922\"").unwrap(),
        wutai
    );
    assert!(serde_json::from_str::<DivisionCode>("\"1409\"").is_err());
}

#[test]
fn id_regions_follow_history() {
    let d = divisions();
    assert!(d.is_id_region("140922", 1950), "in use now");
    // 142223 五台县 (忻州地区), 1983–2000.
    assert!(d.is_id_region("142223", 1985));
    assert!(d.is_id_region("142223", 2000), "still in use during 2000");
    assert!(!d.is_id_region("142223", 2001));
    // 152700 伊克昭盟, 1981–2001.
    assert!(d.is_id_region("152700", 1970));
    assert!(!d.is_id_region("152700", 2002));
    assert!(!d.is_id_region("990101", 1980));
    assert!(!d.is_id_region("14x922", 1980));
}

// ----------------------------------------------------------------------------------------------
// ID numbers
// ----------------------------------------------------------------------------------------------

#[test]
fn valid_id_number() {
    let id = parse_id("11010519491231002X").unwrap();
    assert_eq!(id.as_str(), "11010519491231002X");
    assert_eq!(id.birth_date(), date("1949-12-31"));
    assert_eq!(id.region(), "110105");
    assert_eq!(id.tail6(), "31002X");
    assert_eq!(id.masked(), "1101**********002X");
    let debug = format!("{id:?}");
    assert!(debug.contains("1101**********002X") && !debug.contains("19491231"));

    let generated = with_check("14092219900307211");
    assert_eq!(parse_id(&generated).unwrap().as_str(), generated);
}

#[test]
fn lower_case_x_and_whitespace_are_normalised() {
    let id = parse_id("  11010519491231002x\n").unwrap();
    assert_eq!(id.as_str(), "11010519491231002X");
}

#[test]
fn bad_check_character() {
    assert_eq!(
        parse_id("110105194912310021"),
        Err(IdNumberError::BadCheckCharacter {
            expected: 'X',
            found: '1'
        })
    );
    let err = IdNumberError::BadCheckCharacter {
        expected: 'X',
        found: '3',
    };
    assert!(err.text(Lang::Zh).contains("校验码错误：应为 X，实为 3"));
    assert!(
        err.text(Lang::En)
            .contains("check character is wrong: expected X, found 3")
    );
    // Every other check character is refused.
    let body = "14092219900307211";
    let good = id_check(body);
    for c in "0123456789X".chars().filter(|&c| c != good) {
        assert!(matches!(
            parse_id(&format!("{body}{c}")),
            Err(IdNumberError::BadCheckCharacter { .. })
        ));
    }
}

#[test]
fn bad_birth_dates() {
    assert_eq!(
        parse_id(&with_check("11010519990230123")),
        Err(IdNumberError::BadBirthDate)
    );
    assert_eq!(
        parse_id(&with_check("11010518991231123")),
        Err(IdNumberError::BadBirthDate)
    );
    assert_eq!(
        parse_id(&with_check("11010520260116123")),
        Err(IdNumberError::BadBirthDate)
    );
    assert!(
        parse_id(&with_check("11010520260115123")).is_ok(),
        "born today"
    );
    assert!(
        parse_id(&with_check("11010519000101123")).is_ok(),
        "1900-01-01"
    );
}

#[test]
fn regions() {
    assert_eq!(
        parse_id(&with_check("99010119800101123")),
        Err(IdNumberError::UnknownRegion("990101".into()))
    );
    // 142223: 五台县 under 忻州地区 before 2000.
    let old = parse_id(&with_check("14222319850615123")).unwrap();
    assert_eq!(old.region(), "142223");
    assert_eq!(
        parse_id(&with_check("14222320010615123")),
        Err(IdNumberError::UnknownRegion("142223".into()))
    );
    // 152701 东胜市 of 伊克昭盟 (1983–2001), now 150602 东胜区 of 鄂尔多斯市.
    assert!(parse_id(&with_check("15270119800101001")).is_ok());
    assert!(parse_id(&with_check("15270120050101001")).is_err());
}

#[test]
fn length_and_characters() {
    assert_eq!(
        parse_id("11010519491231002"),
        Err(IdNumberError::Length(17))
    );
    assert_eq!(parse_id(""), Err(IdNumberError::Length(0)));
    assert_eq!(
        parse_id("11010519491231002A"),
        Err(IdNumberError::Characters)
    );
    assert_eq!(
        parse_id("1101051949123100X2"),
        Err(IdNumberError::Characters)
    );
    assert_eq!(
        parse_id("1101051949123100二X"),
        Err(IdNumberError::Characters)
    );
    assert!(IdNumberError::Length(17).text(Lang::Zh).contains("17"));
}

// ----------------------------------------------------------------------------------------------
// Phones, credit codes, names, digests
// ----------------------------------------------------------------------------------------------

#[test]
fn phones() {
    let phone = PhoneNumber::parse("13812345678").unwrap();
    assert_eq!(phone.masked(), "138****5678");
    assert_eq!(phone.tail4(), "5678");
    assert_eq!(format!("{phone:?}"), "PhoneNumber(\"138****5678\")");
    for raw in [
        "+86 138-1234-5678",
        "008613812345678",
        "8613812345678",
        " 138 1234 5678 ",
    ] {
        assert_eq!(
            PhoneNumber::parse(raw).unwrap().as_str(),
            "13812345678",
            "{raw}"
        );
    }
    assert_eq!(
        PhoneNumber::parse("1381234567"),
        Err(PhoneError::Length(10))
    );
    assert_eq!(
        PhoneNumber::parse("+86 1381234567"),
        Err(PhoneError::Length(10))
    );
    assert_eq!(PhoneNumber::parse("12812345678"), Err(PhoneError::Prefix));
    assert_eq!(PhoneNumber::parse("23812345678"), Err(PhoneError::Prefix));
    assert_eq!(
        PhoneNumber::parse("1381234567a"),
        Err(PhoneError::Characters)
    );
    assert!(PhoneError::Prefix.text(Lang::En).contains("13 to 19"));
}

#[test]
fn credit_codes() {
    let valid = "91350100M000100Y43";
    assert_eq!(CreditCode::parse(valid).unwrap().as_str(), valid);
    assert_eq!(
        CreditCode::parse(" 91350100m000100y43 ").unwrap().as_str(),
        valid
    );
    const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    for (i, original) in valid.char_indices() {
        for c in ALPHABET.chars().filter(|&c| c != original) {
            let mut changed = valid.to_owned();
            changed.replace_range(i..=i, &c.to_string());
            assert!(
                CreditCode::parse(&changed).is_err(),
                "{changed} must be refused"
            );
        }
    }
    assert_eq!(
        CreditCode::parse("91350100M000100Y44"),
        Err(CreditCodeError::BadCheckCharacter {
            expected: '3',
            found: '4'
        })
    );
    assert_eq!(
        CreditCode::parse("91350100M000100I43"),
        Err(CreditCodeError::Characters)
    );
    assert_eq!(
        CreditCode::parse("91350100M000100Y4"),
        Err(CreditCodeError::Length(17))
    );
}

#[test]
fn names() {
    let name = PersonName::parse("  王小明 ").unwrap();
    assert_eq!(name.as_str(), "王小明");
    assert_eq!(name.masked(), "王*明");
    assert_eq!(format!("{name:?}"), "PersonName(\"王*明\")");
    assert_eq!(PersonName::parse("李四").unwrap().masked(), "李*");
    assert_eq!(PersonName::parse("王").unwrap().masked(), "王*");
    assert_eq!(PersonName::parse("欧阳小明").unwrap().masked(), "欧**明");
    assert_eq!(PersonName::parse("   "), Err(NameError::Empty));
    assert_eq!(
        PersonName::parse("王\n明"),
        Err(NameError::ControlCharacter)
    );
    assert!(PersonName::parse(&"名".repeat(50)).is_ok());
    assert_eq!(
        PersonName::parse(&"名".repeat(51)),
        Err(NameError::TooLong(51))
    );
}

#[test]
fn sha256_hex() {
    let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    assert!(is_sha256_hex(empty));
    assert!(is_sha256_hex(&empty.to_uppercase()));
    assert!(!is_sha256_hex(&empty[1..]));
    assert!(!is_sha256_hex(&format!("g{}", &empty[1..])));
}

// ----------------------------------------------------------------------------------------------
// Case numbers
// ----------------------------------------------------------------------------------------------

/// MOD 11-2 over 19 digits by an explicit weight table 2^(19−i) mod 11.
fn case_check(digits: &str) -> char {
    let sum: u32 = digits
        .chars()
        .enumerate()
        .map(|(i, c)| c.to_digit(10).unwrap() * (2u32.pow(19 - i as u32) % 11))
        .sum();
    match (12 - sum % 11) % 11 {
        10 => 'X',
        n => char::from_digit(n, 10).unwrap(),
    }
}

#[test]
fn case_number_round_trip() {
    let number = CaseNumber::new(&code("140922"), date("2026-11-28"), 1);
    assert_eq!(case_check("1409222026112800001"), '2');
    assert_eq!(number.as_str(), "140922-20261128-00001-2");
    assert_eq!(number.window_division(), code("140922"));
    assert_eq!(number.date(), date("2026-11-28"));
    assert_eq!(number.sequence(), 1);
    assert_eq!(CaseNumber::parse(number.as_str()).unwrap(), number);
    assert_eq!(CaseNumber::parse("14092220261128000012").unwrap(), number);
    assert_eq!(
        CaseNumber::parse(" 140922 20261128 00001 2 ").unwrap(),
        number
    );
    let json = serde_json::to_string(&number).unwrap();
    assert_eq!(serde_json::from_str::<CaseNumber>(&json).unwrap(), number);

    // Sequence 8 has check character X; lower case is accepted.
    let x = CaseNumber::new(&code("140922"), date("2026-11-28"), 8);
    assert_eq!(x.as_str(), "140922-20261128-00008-X");
    assert_eq!(CaseNumber::parse("140922-20261128-00008-x").unwrap(), x);

    let big = CaseNumber::new(&code("640100"), date("2025-02-08"), 99_999);
    let digits = "6401002025020899999";
    assert_eq!(
        big.as_str(),
        format!("640100-20250208-99999-{}", case_check(digits))
    );
}

#[test]
fn every_single_character_change_is_rejected() {
    let number = CaseNumber::new(&code("140922"), date("2026-11-28"), 345);
    let compact: String = number.as_str().chars().filter(|c| *c != '-').collect();
    for i in 0..compact.len() {
        for c in "0123456789X".chars() {
            if compact.as_bytes()[i] == c as u8 || (i < 19 && c == 'X') {
                continue;
            }
            let mut changed = compact.clone();
            changed.replace_range(i..=i, &c.to_string());
            assert!(
                CaseNumber::parse(&changed).is_err(),
                "{changed} must be refused"
            );
        }
    }
    // Adjacent transpositions of different digits are caught too.
    let bytes = compact.as_bytes();
    for i in 0..18 {
        if bytes[i] != bytes[i + 1] {
            let mut swapped = bytes.to_vec();
            swapped.swap(i, i + 1);
            let swapped = String::from_utf8(swapped).unwrap();
            assert!(
                CaseNumber::parse(&swapped).is_err(),
                "{swapped} must be refused"
            );
        }
    }
}

#[test]
fn case_number_errors() {
    assert_eq!(
        CaseNumber::parse("140922-20261128-0001-2"),
        Err(CaseNumberError::Length(19))
    );
    assert_eq!(
        CaseNumber::parse("140922-20261128-0000A-2"),
        Err(CaseNumberError::Characters)
    );
    assert_eq!(
        CaseNumber::parse(&format!(
            "1409222026023000001{}",
            case_check("1409222026023000001")
        )),
        Err(CaseNumberError::BadDate)
    );
    assert_eq!(
        CaseNumber::parse(&format!(
            "1409222026112800000{}",
            case_check("1409222026112800000")
        )),
        Err(CaseNumberError::BadSequence)
    );
    assert_eq!(
        CaseNumber::parse("140922-20261128-00001-3"),
        Err(CaseNumberError::BadCheckCharacter {
            expected: '2',
            found: '3'
        })
    );
    assert_eq!(
        CaseNumber::try_new(&code("140922"), date("2026-11-28"), 0),
        Err(CaseNumberError::BadSequence)
    );
    assert_eq!(
        CaseNumber::try_new(&code("140922"), date("2026-11-28"), 100_000),
        Err(CaseNumberError::BadSequence)
    );
    assert!(
        CaseNumberError::BadCheckCharacter {
            expected: '2',
            found: '3'
        }
        .text(Lang::Zh)
        .contains("应为 2，实为 3")
    );
}

#[test]
fn masking_hides_the_middle_of_any_text() {
    assert_eq!(mask_id_number("140922199001011234"), "1409**********1234");
    assert_eq!(mask_id_number(" 140922199001011234 "), "1409**********1234");
    assert_eq!(mask_phone("13812345678"), "138****5678");
    assert_eq!(mask_phone("1234"), "****");
    assert_eq!(mask_id_number(""), "");
}
