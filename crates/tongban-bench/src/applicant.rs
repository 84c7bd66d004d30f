//! Synthetic applicants (申请人): valid 身份证号 (GB 11643, ISO 7064 MOD 11-2 check character) and
//! mobile numbers, distinct enough that no two cases of a run share an applicant by accident.

/// A small, fast pseudo-random generator (SplitMix64). Load generation needs variety, not
/// unpredictability, and this keeps the crate free of a random-number dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded from a fresh UUID (different in every task and run).
    pub fn from_entropy() -> Self {
        let (high, low) = uuid::Uuid::new_v4().as_u64_pair();
        Self(high ^ low.rotate_left(17))
    }

    /// A generator with a fixed seed (tests).
    pub fn seeded(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `low..=high` (`low` when the range is empty).
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            return low;
        }
        low + self.next_u64() % (high - low + 1)
    }
}

/// The GB 11643 check character of the first 17 digits of a 身份证号 (ISO 7064 MOD 11-2).
/// `None` when `body` is not 17 ASCII digits.
pub fn check_character(body: &str) -> Option<char> {
    if body.len() != 17 || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let sum: u32 = body
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    CHECK.get((sum % 11) as usize).copied()
}

/// A valid 身份证号 registered in `region` (a GB/T 2260 county code in use today, so valid for
/// any birth year), born between 1950 and 2000 (every applicant is an adult), with a random
/// sequence number. `None` when `region` is not six digits.
pub fn id_number(region: &str, rng: &mut Rng) -> Option<String> {
    if region.len() != 6 || !region.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year = rng.between(1950, 2000);
    let month = rng.between(1, 12);
    // Day 28 at most: valid in every month of every year.
    let day = rng.between(1, 28);
    let sequence = rng.between(1, 999);
    let body = format!("{region}{year:04}{month:02}{day:02}{sequence:03}");
    let check = check_character(&body)?;
    Some(format!("{body}{check}"))
}

/// A valid mainland mobile number (`1[3-9]` and nine more digits).
pub fn phone(rng: &mut Rng) -> String {
    let second = rng.between(3, 9);
    let rest = rng.between(0, 999_999_999);
    format!("1{second}{rest:09}")
}

/// What a 12345 caller says to prove who they are: the last six characters of the ID number.
pub fn verification(id_number: &str) -> String {
    let start = id_number.len().saturating_sub(6);
    id_number.get(start..).unwrap_or(id_number).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_character_matches_known_numbers() {
        // The end-to-end tests' applicant (check character X) and the GB 11643 example.
        assert_eq!(check_character("11010519491231002"), Some('X'));
        assert_eq!(check_character("44052418800101001"), Some('4'));
        assert_eq!(check_character("1101051949123100"), None);
    }

    #[test]
    fn generated_numbers_are_valid() {
        let mut rng = Rng::seeded(7);
        for _ in 0..1000 {
            let id = id_number("640104", &mut rng).unwrap();
            assert_eq!(id.len(), 18);
            assert!(id.starts_with("640104"));
            assert_eq!(id.chars().last(), check_character(&id[..17]));
            let year: u32 = id[6..10].parse().unwrap();
            assert!((1950..=2000).contains(&year));
            let phone = phone(&mut rng);
            assert_eq!(phone.len(), 11);
            assert!(phone.starts_with('1'));
            assert!((b'3'..=b'9').contains(&phone.as_bytes()[1]));
        }
        assert_eq!(id_number("6401", &mut rng), None);
        assert_eq!(verification("11010519491231002X"), "31002X");
    }
}
