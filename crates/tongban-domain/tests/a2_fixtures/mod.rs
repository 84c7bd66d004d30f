//! Small inline catalog and directory shared by the a2_* tests, on the real division codes and
//! holiday calendar shipped under deploy/data.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use tongban_domain::calendar::WorkingCalendar;
use tongban_domain::catalog::Catalog;
use tongban_domain::directory::Directory;
use tongban_domain::division::{DivisionCode, Divisions};
use tongban_domain::reference::ReferenceData;

/// The workspace's deploy directory.
pub fn deploy_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

/// The real division codes, loaded once per test binary.
pub fn divisions() -> &'static Divisions {
    static DIVISIONS: OnceLock<Divisions> = OnceLock::new();
    DIVISIONS.get_or_init(|| {
        Divisions::load(&deploy_dir().join("data/divisions")).expect("deploy/data/divisions loads")
    })
}

pub fn code(raw: &str) -> DivisionCode {
    DivisionCode::parse(raw).expect("six digits")
}

pub const DEPARTMENTS: &str = r#"
[[department]]
code = "gongan"
name = "公安"
name_en = "Public Security"

[[department]]
code = "renshe"
name = "人力资源和社会保障"
name_en = "Human Resources and Social Security"

[[department]]
code = "jiaoyu"
name = "教育"
name_en = "Education"

[[department]]
code = "sifa"
name = "司法行政（公证）"
name_en = "Justice (notarisation)"
"#;

/// One matter per routing situation:
/// - GA-HJ-QY-GZDD: cross_province + province_wide (公安);
/// - JY-XJ-ZXZM: regional only (教育);
/// - RS-SYDJ: province_wide only (人社);
/// - SF-GZ-XL: cross_province only (司法).
pub const MATTERS: &str = r#"
catalog_version = "2026.11.1"

[[matter]]
code = "GA-HJ-QY-GZDD"
name = "户口迁移（工作调动）"
name_en = "Household registration transfer (job transfer)"
department = "gongan"
version = "2"
valid_from = "2025-01-01"
scopes = ["cross_province", "province_wide"]
modes = ["online", "proxy"]
conditions = "因工作调动需要迁移户口的职工及其随迁家属。"
legal_basis = "《中华人民共和国户口登记条例》第十条"
legal_limit_days = 20
promised_limit_days = 10
fee_fen = 0
delivery_methods = ["window_pickup", "mail"]

[[matter.materials]]
code = "SFZ"
name = "居民身份证"
required = true
paper_original_required = false
accepted_certificate_types = ["111"]
notes = "核验原件"

[[matter.materials]]
code = "HKB"
name = "居民户口簿"
required = true
paper_original_required = true
accepted_certificate_types = ["112"]

[[matter.materials]]
code = "DDZM"
name = "工作调动证明"
required = true
paper_original_required = true
accepted_certificate_types = []

[[matter.materials]]
code = "ZP"
name = "近期免冠照片"
required = false
paper_original_required = false
accepted_certificate_types = []

[[matter.review_points]]
code = "R1"
question = "申请人身份与户籍信息是否一致？"
required = true

[[matter.review_points]]
code = "R2"
question = "调动证明是否真实有效？"
required = true

[[matter.review_points]]
code = "R3"
question = "随迁人员关系是否清楚？"
required = false

[[matter.stages]]
code = "accept"
name = "受理"
working_days = 1

[[matter.stages]]
code = "review"
name = "审查"
working_days = 7

[[matter.stages]]
code = "decide"
name = "决定"
working_days = 2

[[matter]]
code = "JY-XJ-ZXZM"
name = "学籍证明"
name_en = "Student status certificate"
department = "jiaoyu"
version = "1"
valid_from = 2024-03-01
scopes = ["regional"]
modes = ["proxy"]
conditions = "在协议地区就读过的学生。"
legal_basis = "《中小学生学籍管理办法》"
legal_limit_days = 10
promised_limit_days = 5
fee_fen = 1250
delivery_methods = ["mail", "e_certificate"]

[[matter.materials]]
code = "SFZ"
name = "居民身份证"
required = true
paper_original_required = false
accepted_certificate_types = ["111"]

[[matter.review_points]]
code = "R1"
question = "学籍信息是否存在？"
required = true

[[matter.stages]]
code = "accept"
name = "受理"
working_days = 1

[[matter.stages]]
code = "review"
name = "审查"
working_days = 4

[[matter]]
code = "RS-SYDJ"
name = "失业登记"
name_en = "Unemployment registration"
department = "renshe"
version = "1"
valid_from = "2024-01-01"
scopes = ["province_wide"]
modes = ["online"]
conditions = "法定劳动年龄内、有劳动能力、有就业要求、处于无业状态的人员。"
legal_basis = "《就业服务与就业管理规定》第六十三条"
legal_limit_days = 5
promised_limit_days = 1
fee_fen = 0
delivery_methods = ["e_certificate"]

[[matter.materials]]
code = "SFZ"
name = "居民身份证"
required = true
paper_original_required = false
accepted_certificate_types = ["111"]

[[matter.review_points]]
code = "R1"
question = "是否处于无业状态？"
required = true

[[matter.stages]]
code = "review"
name = "审查"
working_days = 1

[[matter]]
code = "SF-GZ-XL"
name = "学历公证"
name_en = "Notarisation of academic credentials"
department = "sifa"
version = "1"
valid_from = "2024-01-01"
scopes = ["cross_province"]
modes = ["online", "proxy"]
conditions = "持有学历证书的自然人。"
legal_basis = "《中华人民共和国公证法》第十一条"
legal_limit_days = 15
promised_limit_days = 10
fee_fen = 8000
delivery_methods = ["mail"]

[[matter.materials]]
code = "XLZS"
name = "学历证书"
required = true
paper_original_required = true
accepted_certificate_types = ["118", "122"]

[[matter.review_points]]
code = "R1"
question = "学历证书是否真实？"
required = true

[[matter.stages]]
code = "review"
name = "审查"
working_days = 10
"#;

pub const OFFICES: &str = r#"
[[office]]
id = "140922-zwfw"
name = "五台县政务服务中心"
division = "140922"
departments = []
is_window = true

[[office]]
id = "140922-gongan"
name = "五台县公安局"
division = "140922"
departments = ["gongan"]
is_window = false

[[office]]
id = "140900-gongan"
name = "忻州市公安局"
division = "140900"
departments = ["gongan"]
is_window = false

[[office]]
id = "140900-jiaoyu"
name = "忻州市教育局"
division = "140900"
departments = ["jiaoyu"]
is_window = false

[[office]]
id = "140100-gongan"
name = "太原市公安局"
division = "140100"
departments = ["gongan"]
is_window = false

[[office]]
id = "140100-sifa"
name = "太原市司法局"
division = "140100"
departments = ["sifa"]
is_window = false

[[office]]
id = "140000-gongan"
name = "山西省公安厅"
division = "140000"
departments = ["gongan"]
is_window = false

[[office]]
id = "640100-gongan"
name = "银川市公安局"
division = "640100"
departments = ["gongan"]
is_window = false

[[office]]
id = "640100-zwfw"
name = "银川市民大厅"
division = "640100"
departments = []
is_window = true
endpoint = "http://yinchuan.example:50051"

[[office]]
id = "150600-jiaoyu"
name = "鄂尔多斯市教育局"
division = "150600"
departments = ["jiaoyu"]
is_window = false

[[office]]
id = "150600-renshe"
name = "鄂尔多斯市人力资源和社会保障局"
division = "150600"
departments = ["renshe"]
is_window = true

[[office]]
id = "150100-jiaoyu"
name = "呼和浩特市教育局"
division = "150100"
departments = ["jiaoyu"]
is_window = false

[[office]]
id = "610100-jiaoyu"
name = "西安市教育局"
division = "610100"
departments = ["jiaoyu"]
is_window = false
"#;

pub const AGREEMENTS: &str = r#"
[[agreement]]
id = "JIN-MENG-2022"
name = "晋蒙两省区政务服务区域通办框架协议"
parties = ["140000", "150000"]
matters = ["JY-XJ-ZXZM"]
valid_from = "2022-01-01"
valid_until = "2027-06-30"
duties = "两省区通办窗口互相代收代办。"

[[agreement]]
id = "XZ-EEDS-2021"
name = "忻州市与鄂尔多斯市政务服务“区域通办”合作协议"
parties = ["140900", "150600"]
matters = ["JY-XJ-ZXZM"]
valid_from = "2021-06-01"
valid_until = "2027-12-31"
duties = "双方互设通办窗口，代收代办协议事项。"

[[agreement]]
id = "XZ-XA-2020"
name = "忻州市与西安市区域通办合作协议（已到期）"
parties = ["140900", "610100"]
matters = ["JY-XJ-ZXZM"]
valid_from = 2020-01-01
valid_until = 2022-12-31
duties = "已到期。"
"#;

pub fn catalog() -> Catalog {
    Catalog::from_toml(MATTERS, DEPARTMENTS).expect("fixture catalog is valid")
}

pub fn directory(catalog: &Catalog) -> Directory {
    Directory::from_toml(OFFICES, AGREEMENTS, divisions(), catalog)
        .expect("fixture directory is valid")
}

/// The inline catalog and directory with the real divisions and calendar.
pub fn reference() -> ReferenceData {
    let catalog = catalog();
    let directory = directory(&catalog);
    ReferenceData {
        divisions: divisions().clone(),
        calendar: WorkingCalendar::load(&deploy_dir().join("data/holidays"))
            .expect("deploy/data/holidays loads"),
        catalog,
        directory,
        bundles: Default::default(),
    }
}
