//! The working-day calendar (工作日): weekends and statutory holidays are off, adjusted working
//! days (调休) are on, and a year without holiday data is reported, never guessed (DESIGN §5).

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::Path;

use chrono::{
    DateTime, Datelike, Days, FixedOffset, NaiveDate, NaiveTime, TimeDelta, Utc, Weekday,
};
use serde::Deserialize;

use crate::data::{DataError, files_with_extension, read_text};
use crate::i18n::{Lang, Localized};

/// Asia/Shanghai: UTC+8, without daylight saving since 1991.
pub fn shanghai() -> FixedOffset {
    // 8 hours is well inside the ±24 h a FixedOffset accepts.
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// The Shanghai local date of an instant.
pub fn shanghai_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&shanghai()).date_naive()
}

/// The instant of 00:00 Shanghai time at the start of `date`, in UTC (24:00 of the day before).
pub fn shanghai_midnight(date: NaiveDate) -> DateTime<Utc> {
    let local = date.and_time(NaiveTime::MIN);
    // A fixed offset has no gaps or folds, so every local time maps to exactly one instant.
    (local - TimeDelta::hours(8)).and_utc()
}

/// Why a working-day question cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// No holiday file was loaded for `year`.
    NoData {
        /// The year without data.
        year: i32,
    },
}

impl Localized for CalendarError {
    fn text(&self, lang: Lang) -> String {
        match (self, lang) {
            (CalendarError::NoData { year }, Lang::Zh) => format!("缺少 {year} 年节假日数据"),
            (CalendarError::NoData { year }, Lang::En) => format!("no holiday data for {year}"),
        }
    }
}

impl fmt::Display for CalendarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text(Lang::default()))
    }
}

/// One file of NateScarlet/holiday-cn.
#[derive(Deserialize)]
struct HolidayFile {
    year: i32,
    days: Vec<HolidayDay>,
}

#[derive(Deserialize)]
struct HolidayDay {
    name: String,
    date: NaiveDate,
    #[serde(rename = "isOffDay")]
    is_off_day: bool,
}

/// A listed day: a statutory holiday (off) or an adjusted working day (调休, on).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ListedDay {
    name: String,
    is_off_day: bool,
}

/// Working days for the years that have holiday data.
#[derive(Debug, Clone, Default)]
pub struct WorkingCalendar {
    years: BTreeSet<i32>,
    listed: HashMap<NaiveDate, ListedDay>,
}

impl WorkingCalendar {
    /// Loads every `*.json` file in `dir` (e.g. `deploy/data/holidays`).
    ///
    /// # Errors
    /// [`DataError`] when a file cannot be read or parsed, two files claim the same year, or
    /// two files disagree about a date.
    pub fn load(dir: &Path) -> Result<Self, DataError> {
        let mut calendar = WorkingCalendar::default();
        for path in files_with_extension(dir, "json")? {
            let text = read_text(&path)?;
            calendar.add_file(&path.display().to_string(), &text)?;
        }
        Ok(calendar)
    }

    /// Builds from the text of holiday-cn JSON files (`{year, days: [{name, date, isOffDay}]}`).
    ///
    /// # Errors
    /// As for [`WorkingCalendar::load`]; a file is named by its index (`holidays[0]`).
    pub fn from_json(files: &[&str]) -> Result<Self, DataError> {
        let mut calendar = WorkingCalendar::default();
        for (index, text) in files.iter().enumerate() {
            calendar.add_file(&format!("holidays[{index}]"), text)?;
        }
        Ok(calendar)
    }

    fn add_file(&mut self, source_name: &str, text: &str) -> Result<(), DataError> {
        let file: HolidayFile = serde_json::from_str(text).map_err(|e| {
            DataError::invalid(source_name, Some(e.line()), format!("holiday JSON: {e}"))
        })?;
        if !self.years.insert(file.year) {
            return Err(DataError::invalid(
                source_name,
                None,
                format!("year {} is loaded twice", file.year),
            ));
        }
        for day in file.days {
            let listed = ListedDay {
                name: day.name,
                is_off_day: day.is_off_day,
            };
            match self.listed.get(&day.date) {
                Some(known) if known.is_off_day != listed.is_off_day => {
                    return Err(DataError::invalid(
                        source_name,
                        None,
                        format!("{} disagrees with another file about isOffDay", day.date),
                    ));
                }
                Some(_) => {}
                None => {
                    self.listed.insert(day.date, listed);
                }
            }
        }
        Ok(())
    }

    /// The years that have data, ascending.
    pub fn years(&self) -> Vec<i32> {
        self.years.iter().copied().collect()
    }

    /// Whether `date` is a working day: a weekday not listed as off, or any day listed with
    /// `isOffDay=false` (调休).
    ///
    /// # Errors
    /// [`CalendarError::NoData`] when no file for `date`'s year was loaded (coverage follows the
    /// files' `year` field, not the dates they list).
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, CalendarError> {
        if !self.years.contains(&date.year()) {
            return Err(CalendarError::NoData { year: date.year() });
        }
        Ok(match self.listed.get(&date) {
            Some(day) => !day.is_off_day,
            None => !matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
        })
    }

    /// The holiday name of a listed day (`春节`, `国庆节` …), for either a day off or a 调休 day.
    pub fn holiday_name(&self, date: NaiveDate) -> Option<&str> {
        self.listed.get(&date).map(|day| day.name.as_str())
    }

    /// The date of the `n`th working day after `date` (`n == 0` gives `date`).
    ///
    /// # Errors
    /// [`CalendarError::NoData`] when the count runs into a year without data.
    pub fn nth_working_day_after(
        &self,
        date: NaiveDate,
        n: u32,
    ) -> Result<NaiveDate, CalendarError> {
        let mut day = date;
        let mut left = n;
        while left > 0 {
            day = next_day(day)?;
            if self.is_working_day(day)? {
                left -= 1;
            }
        }
        Ok(day)
    }

    /// DESIGN §5: the clock starts the day after `start` (its Shanghai local date); the result is
    /// the end (24:00 Shanghai) of the `working_days`th working day, as the UTC instant of the
    /// following midnight. `working_days == 0` gives the end of the start day.
    ///
    /// # Errors
    /// [`CalendarError::NoData`] when the count runs into a year without data.
    pub fn due_after(
        &self,
        start: DateTime<Utc>,
        working_days: u32,
    ) -> Result<DateTime<Utc>, CalendarError> {
        let last_day = self.nth_working_day_after(shanghai_date(start), working_days)?;
        Ok(shanghai_midnight(next_day(last_day)?))
    }

    /// The number of working days `d` with `from < d <= to`; negative (minus the working days
    /// in `to < d <= from`) when `to < from`.
    ///
    /// # Errors
    /// [`CalendarError::NoData`] when a day of the span lies in a year without data.
    pub fn working_days_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<i64, CalendarError> {
        let (low, high, sign) = if from <= to {
            (from, to, 1)
        } else {
            (to, from, -1)
        };
        let mut count = 0i64;
        let mut day = low;
        while day < high {
            day = next_day(day)?;
            if self.is_working_day(day)? {
                count += 1;
            }
        }
        Ok(sign * count)
    }

    /// Whole working days left before `due` as seen at `now` (Shanghai dates): the working days
    /// after today up to and including the due day (the date before `due`'s midnight). 0 on the
    /// last day; negative once `due` has passed: minus the working days since the due day, and
    /// at least −1 so that an overdue case never reads as "last day" (e.g. on the weekend right
    /// after a Friday due day).
    ///
    /// # Errors
    /// [`CalendarError::NoData`] when a day of the span lies in a year without data.
    pub fn remaining_working_days(
        &self,
        now: DateTime<Utc>,
        due: DateTime<Utc>,
    ) -> Result<i32, CalendarError> {
        let today = shanghai_date(now);
        // The due moment is a midnight; the instant just before it lies on the due day.
        let due_day = shanghai_date(due - TimeDelta::nanoseconds(1));
        let days = self.working_days_between(today, due_day)?;
        let days = if now >= due { days.min(-1) } else { days };
        // A span of more than two billion days cannot be covered by holiday data.
        Ok(i32::try_from(days).unwrap_or(if days < 0 { i32::MIN } else { i32::MAX }))
    }
}

/// The following date; a date at chrono's upper limit has no data either.
fn next_day(date: NaiveDate) -> Result<NaiveDate, CalendarError> {
    date.checked_add_days(Days::new(1))
        .ok_or(CalendarError::NoData { year: date.year() })
}
