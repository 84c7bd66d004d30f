//! Everything a service loads at start: division codes, the working-day calendar, the catalog
//! and the office directory, read from the deploy directory so they change without a rebuild.

use std::path::Path;

use crate::bundle::Bundles;
use crate::calendar::WorkingCalendar;
use crate::catalog::Catalog;
use crate::data::DataError;
use crate::directory::Directory;
use crate::division::Divisions;
use crate::issuers::IssuerRights;

/// The reference data, loaded and cross-checked (directory against divisions and catalog).
#[derive(Debug, Clone)]
pub struct ReferenceData {
    /// 行政区划代码 (GB/T 2260, current list and history).
    pub divisions: Divisions,
    /// 工作日历: weekends, statutory holidays and 调休 working days.
    pub calendar: WorkingCalendar,
    /// 事项目录.
    pub catalog: Catalog,
    /// 机构目录 and 区域通办 agreements.
    pub directory: Directory,
    /// 一件事一次办 bundles.
    pub bundles: Bundles,
    /// 发证权限: which offices may issue which e-certificate types.
    pub issuers: IssuerRights,
}

impl ReferenceData {
    /// Loads everything from `deploy_dir`, laid out as
    /// `data/divisions/*.csv`, `data/holidays/*.json`, `catalog/{matters,departments,bundles}.toml`,
    /// `directory/{offices,agreements,issuers}.toml`.
    ///
    /// # Errors
    /// The first [`DataError`] met: a file that cannot be read, or a file whose content is
    /// invalid (naming the file, line and field).
    pub fn load(deploy_dir: &Path) -> Result<Self, DataError> {
        let divisions = Divisions::load(&deploy_dir.join("data").join("divisions"))?;
        let calendar = WorkingCalendar::load(&deploy_dir.join("data").join("holidays"))?;
        let catalog = Catalog::load(&deploy_dir.join("catalog"))?;
        let directory = Directory::load(&deploy_dir.join("directory"), &divisions, &catalog)?;
        let bundles = Bundles::load(&deploy_dir.join("catalog"), &catalog)?;
        let issuers = IssuerRights::load(&deploy_dir.join("directory"), &catalog, &directory)?;
        Ok(Self {
            divisions,
            calendar,
            catalog,
            directory,
            bundles,
            issuers,
        })
    }
}
