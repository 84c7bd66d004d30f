//! The hotline's own rules, pure (no database, no clock of their own): the masking of long digit
//! runs in free text, the stricter masking of what an operator reads to a caller, and the rate of
//! status lookups an operator may make. The verification lockout (核验锁定), the 投诉 loop and
//! 好差评 rules are the domain's ([`tongban_domain::lockout`], [`tongban_domain::complaint`],
//! [`tongban_domain::rating`]).

use std::collections::VecDeque;

use chrono::{DateTime, TimeDelta, Utc};

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

/// Masks, for the view an operator reads to a caller, every phone or ID number in free text so
/// that nothing of the proof the caller is asked for shows: only the first three characters stay
/// (`138********`, `110***************`). The proof is the last four phone digits or the last six
/// ID characters, so the usual masks (`138****5678`, `1409**********1234`) would read the
/// answer out to whoever is on the line.
///
/// A number is a run of 11 or more digits or `*` (a run already masked the usual way is masked
/// again), an ID number's final `X` included, or groups of digits joined by single spaces or
/// hyphens that make 11 digits (a phone, `138 1234 5678`) or 18 characters (an ID number).
/// Separators are kept. A tail standing alone (`尾号5678`) cannot be told from any other short
/// number here and is left as it is.
pub fn mask_for_caller(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !is_number_char(chars[i]) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // Segments of number characters, joined by single separators.
        let mut segments: Vec<(usize, usize)> = Vec::new();
        let mut j = i;
        loop {
            let start = j;
            while j < chars.len() && is_number_char(chars[j]) {
                j += 1;
            }
            if j < chars.len() && matches!(chars[j], 'X' | 'x') {
                j += 1;
            }
            segments.push((start, j));
            let joined = j + 1 < chars.len()
                && matches!(chars[j], ' ' | '-')
                && is_number_char(chars[j + 1]);
            if !joined {
                break;
            }
            j += 1;
        }
        let total: usize = segments.iter().map(|(s, e)| e - s).sum();
        let whole = segments.len() > 1 && (total == 11 || total == 18);
        let groups: Vec<(usize, usize)> = if whole {
            vec![(i, j)]
        } else {
            segments.clone()
        };
        let mut last_end = i;
        for (start, end) in groups {
            out.extend(&chars[last_end..start]);
            let count = if whole { total } else { end - start };
            if count >= 11 {
                let mut kept = 0;
                for &c in &chars[start..end] {
                    if matches!(c, ' ' | '-') {
                        out.push(c);
                    } else if kept < 3 {
                        out.push(c);
                        kept += 1;
                    } else {
                        out.push('*');
                    }
                }
            } else {
                out.extend(&chars[start..end]);
            }
            last_end = end;
        }
        i = j;
    }
    out
}

/// A digit, or the `*` of a number already masked.
fn is_number_char(c: char) -> bool {
    c.is_ascii_digit() || c == '*'
}

/// Status lookups one operator may make per [`lookup_period`] unless configured otherwise.
pub const DEFAULT_LOOKUPS_PER_PERIOD: u32 = 60;

/// The period the lookup rate is counted over: a minute.
pub fn lookup_period() -> TimeDelta {
    TimeDelta::minutes(1)
}

/// Admits a lookup at `now` by an operator whose admitted lookups of the last period are
/// `recent` (oldest first; updated here): `Ok` and `now` recorded while fewer than `limit`
/// fell within the last [`lookup_period`], else `Err` with how long until the oldest of them
/// leaves the period (at least a second).
pub fn admit_lookup(
    recent: &mut VecDeque<DateTime<Utc>>,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<(), TimeDelta> {
    while recent
        .front()
        .is_some_and(|&at| at <= now - lookup_period())
    {
        recent.pop_front();
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if recent.len() < limit {
        recent.push_back(now);
        return Ok(());
    }
    let oldest = recent.front().copied().unwrap_or(now);
    Err((oldest + lookup_period() - now).max(TimeDelta::seconds(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_caller_proves_is_never_shown() {
        assert_eq!(
            mask_for_caller("请回电 13812345678，谢谢"),
            "请回电 138********，谢谢"
        );
        assert_eq!(
            mask_for_caller("身份证11010519491231002X号"),
            "身份证110***************号"
        );
        // Already masked the usual way: the tail goes too.
        assert_eq!(mask_for_caller("电话138****5678"), "电话138********");
        assert_eq!(
            mask_for_caller("证件 110***********002X"),
            "证件 110***************"
        );
        // Written in groups.
        assert_eq!(mask_for_caller("138 1234 5678"), "138 **** ****");
        assert_eq!(mask_for_caller("138-1234-5678"), "138-****-****");
        assert_eq!(
            mask_for_caller("110105 19491231 002X"),
            "110*** ******** ****"
        );
        // Case numbers, dates and counts stay.
        for kept in [
            "办件 140922-20260914-00001-3 已合并",
            "2026-11-02 补正，共 3 页，10 个工作日",
        ] {
            assert_eq!(mask_for_caller(kept), kept);
        }
    }

    #[test]
    fn lookups_are_limited_per_period() {
        let t0 = Utc::now();
        let mut recent = VecDeque::new();
        for i in 0..3 {
            assert_eq!(
                admit_lookup(&mut recent, t0 + TimeDelta::seconds(i), 3),
                Ok(())
            );
        }
        assert_eq!(
            admit_lookup(&mut recent, t0 + TimeDelta::seconds(10), 3),
            Err(TimeDelta::seconds(50))
        );
        // The refused lookup is not counted; once the first leaves the minute, one more.
        assert_eq!(
            admit_lookup(&mut recent, t0 + TimeDelta::seconds(60), 3),
            Ok(())
        );
        assert!(admit_lookup(&mut recent, t0 + TimeDelta::seconds(60), 3).is_err());
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
