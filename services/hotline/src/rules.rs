//! The hotline's own rules, pure (no database, no clock of their own): the verification lockout
//! (核验锁定) and the masking of long digit runs in free text. The 投诉 loop and 好差评 rules are
//! the domain's ([`tongban_domain::complaint`], [`tongban_domain::rating`]).

use chrono::{DateTime, TimeDelta, Utc};

/// Failed verifications of one case number that lock it (核验锁定).
pub const MAX_FAILURES: i64 = 5;

/// How far back failures count, and how long a lock lasts.
pub fn lock_window() -> TimeDelta {
    TimeDelta::hours(1)
}

/// The moment a case number stays locked until, when `failures` failed verifications (this one
/// included) fell within the last [`lock_window`] at `now`; `None` while under the limit.
pub fn lock_until(failures: i64, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    (failures >= MAX_FAILURES).then(|| now + lock_window())
}

/// Masks every run of 11 or more digits (a trailing `X` included) in free text, keeping the
/// first three and last four characters (`138****5678`, `110***********002X`), so a phone or ID
/// number typed into a complaint or a note is never stored or shown in full.
pub fn mask_long_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        if i < chars.len() && matches!(chars[i], 'X' | 'x') && i - start == 17 {
            i += 1;
        }
        let run = &chars[start..i];
        if run.len() >= 11 {
            out.extend(&run[..3]);
            out.extend(std::iter::repeat_n('*', run.len() - 7));
            out.extend(&run[run.len() - 4..]);
        } else {
            out.extend(run);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_after_five_failures_for_an_hour() {
        let now = Utc::now();
        assert_eq!(lock_until(4, now), None);
        assert_eq!(lock_until(5, now), Some(now + TimeDelta::hours(1)));
        assert_eq!(lock_until(9, now), Some(now + TimeDelta::hours(1)));
    }

    #[test]
    fn long_numbers_are_masked() {
        assert_eq!(
            mask_long_numbers("请回电 13812345678，谢谢"),
            "请回电 138****5678，谢谢"
        );
        assert_eq!(
            mask_long_numbers("身份证11010519491231002X号"),
            "身份证110***********002X号"
        );
        assert_eq!(
            mask_long_numbers("第 3 次，等了 10 个工作日，编号 1234567890"),
            "第 3 次，等了 10 个工作日，编号 1234567890"
        );
        assert_eq!(mask_long_numbers("Xx12345678901x"), "Xx123****8901x");
    }
}
