//! User search on PostgreSQL without the trigrams most users share.
//!
//! `pg_trgm` answers `search_text LIKE '%q%'` by intersecting, in its GIN index, the
//! lists of rows holding each trigram of `q`, stepping through every list: a trigram
//! that nearly every user has (`mai`, `exa`, `per` of "mail", "example", "person")
//! costs a walk over a list as long as the table. Over 1,000,000 users a search
//! for `@mail123.exa` took 35 ms, nearly all of it in the five lists of a million rows;
//! `l123.` alone finds the same thousand candidates in 5 ms.
//!
//! So the index is asked for the parts of the text whose trigrams are not common,
//! joined by `%` in their order (every row holding the text holds them), and the whole
//! text is checked on the rows it finds. Which trigrams are common is learnt from a
//! sample of the table (a few thousand rows, about a millisecond), taken again every
//! [`RESAMPLE_AFTER`]. The choice only changes the cost of a search, never its answer.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::sync::Mutex;

use super::StoreResult;

/// Rows holding a trigram, as a share of the table, from which it counts as common.
const COMMON: f64 = 0.05;
/// Rows the sample aims at.
const SAMPLE_ROWS: f64 = 3_000.0;
/// Below this many users a search is fast whatever it asks: no sample is taken.
const WORTH_SAMPLING: f64 = 50_000.0;
/// How long a sample describes the table.
const RESAMPLE_AFTER: Duration = Duration::from_secs(600);

/// A trigram as `pg_trgm` forms it: three characters of a word, blank-padded (two
/// blanks before a word, one after).
type Trigram = [char; 3];

/// How common each trigram is among the users' search texts.
#[derive(Debug, Default)]
pub(crate) struct TrigramShares {
    rows: usize,
    holding: HashMap<Trigram, u32>,
}

impl TrigramShares {
    /// From a sample of search texts (each a row).
    fn of_rows<'a>(rows: impl IntoIterator<Item = &'a str>) -> Self {
        let mut shares = Self::default();
        let mut seen = HashSet::new();
        for row in rows {
            shares.rows += 1;
            seen.clear();
            let chars: Vec<char> = row.chars().collect();
            for word in words(&chars) {
                seen.extend(word_trigrams(&chars, word, true, true).map(|(t, _)| t));
            }
            for trigram in &seen {
                *shares.holding.entry(*trigram).or_default() += 1;
            }
        }
        shares
    }

    fn common(&self, trigram: &Trigram) -> bool {
        let holding = self.holding.get(trigram).copied().unwrap_or(0);
        self.rows > 0 && holding as f64 / self.rows as f64 >= COMMON
    }
}

/// The words of `chars`: runs of letters and digits (what `pg_trgm` takes as words),
/// as ranges of positions.
fn words(chars: &[char]) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    let mut start = None;
    for (i, c) in chars.iter().enumerate() {
        match (start, c.is_alphanumeric()) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                found.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        found.push(s..chars.len());
    }
    found
}

/// The trigrams of one word of `chars`, each with the positions it needs: two blanks
/// before the word when `before`, one after when `after`; a blank needs the separator
/// it stands for.
fn word_trigrams(
    chars: &[char],
    word: Range<usize>,
    before: bool,
    after: bool,
) -> impl Iterator<Item = (Trigram, Range<usize>)> {
    let mut padded: Vec<(char, usize)> = Vec::with_capacity(word.len() + 3);
    if before {
        padded.extend([(' ', word.start.saturating_sub(1)); 2]);
    }
    padded.extend(word.clone().map(|i| (chars[i], i)));
    if after {
        padded.push((' ', word.end));
    }
    let trigrams: Vec<_> = padded
        .windows(3)
        .map(|w| ([w[0].0, w[1].0, w[2].0], w[0].1..w[2].1 + 1))
        .collect();
    trigrams.into_iter()
}

/// The trigrams `pg_trgm` looks up for `LIKE '%text%'`: a word is padded only where a
/// separator of `text` borders it (a `%` does not).
fn like_trigrams(chars: &[char]) -> Vec<(Trigram, Range<usize>)> {
    words(chars)
        .into_iter()
        .flat_map(|word| {
            let (before, after) = (word.start > 0, word.end < chars.len());
            word_trigrams(chars, word, before, after)
        })
        .collect()
}

/// The `LIKE` pattern to ask the index for, for a search of `text` (lower-case): the
/// parts of `text` that hold its uncommon trigrams. `None` when the whole text is the
/// better question: no trigram is common, or every one is (then many users match and
/// the planner pages through them newest first instead).
pub(crate) fn index_pattern(text: &str, shares: &TrigramShares) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let trigrams = like_trigrams(&chars);
    let mut needed: Vec<Range<usize>> = trigrams
        .iter()
        .filter(|(trigram, _)| !shares.common(trigram))
        .map(|(_, range)| range.clone())
        .collect();
    if needed.is_empty() || needed.len() == trigrams.len() {
        return None;
    }
    needed.sort_by_key(|r| r.start);
    let mut parts: Vec<Range<usize>> = Vec::new();
    for range in needed {
        match parts.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => parts.push(range),
        }
    }
    let mut pattern = String::from("%");
    for part in parts {
        push_escaped(&mut pattern, chars[part].iter().copied());
        pattern.push('%');
    }
    Some(pattern)
}

/// Appends `text` with the `LIKE` wildcards escaped (`\` is the escape).
pub(crate) fn push_escaped(pattern: &mut String, text: impl IntoIterator<Item = char>) {
    for c in text {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
}

/// The shares of the last sample, taken again when old; one per store.
#[derive(Debug, Default)]
pub(crate) struct Sampled {
    last: Mutex<Option<(Instant, Option<std::sync::Arc<TrigramShares>>)>>,
}

impl Sampled {
    /// The shares to plan with; `None` while the table is small.
    pub(crate) async fn shares(
        &self,
        pool: &PgPool,
    ) -> StoreResult<Option<std::sync::Arc<TrigramShares>>> {
        let mut last = self.last.lock().await;
        if let Some((at, shares)) = &*last {
            if at.elapsed() < RESAMPLE_AFTER {
                return Ok(shares.clone());
            }
        }
        let shares = sample(pool).await?.map(std::sync::Arc::new);
        *last = Some((Instant::now(), shares.clone()));
        Ok(shares)
    }
}

/// A sample of whole pages of `users` (`TABLESAMPLE SYSTEM`: a few page reads).
async fn sample(pool: &PgPool) -> StoreResult<Option<TrigramShares>> {
    let (estimate,): (f32,) =
        sqlx::query_as("SELECT reltuples FROM pg_class WHERE oid = 'users'::regclass")
            .fetch_one(pool)
            .await?;
    let estimate = f64::from(estimate);
    if estimate < WORTH_SAMPLING {
        return Ok(None);
    }
    let percent = (100.0 * SAMPLE_ROWS / estimate).min(100.0);
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT search_text FROM users TABLESAMPLE SYSTEM ($1)")
            .bind(percent as f32)
            .fetch_all(pool)
            .await?;
    Ok(Some(TrigramShares::of_rows(
        rows.iter().map(|(t,)| t.as_str()),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shares() -> TrigramShares {
        // Every row has "person", "mail" and "example"; numbers vary.
        let rows: Vec<String> = (0..1000)
            .map(|i| {
                format!(
                    "ext-{i}\u{1f}\u{1f}person {i}\u{1f}person{i}@mail{}.example",
                    i % 100
                )
            })
            .collect();
        TrigramShares::of_rows(rows.iter().map(String::as_str))
    }

    fn names(text: &str) -> Vec<String> {
        like_trigrams(&text.chars().collect::<Vec<_>>())
            .into_iter()
            .map(|(t, _)| t.iter().collect())
            .collect()
    }

    #[test]
    fn like_trigrams_are_padded_only_beside_separators() {
        // As `pg_trgm` extracts them from LIKE '%@mail123.exa%' (`show_trgm` would pad
        // every word on both sides).
        assert_eq!(
            names("@mail123.exa"),
            ["  m", " ma", "mai", "ail", "il1", "l12", "123", "23 ", "  e", " ex", "exa"]
        );
        assert_eq!(names("ab"), Vec::<String>::new());
        assert_eq!(names(" ab"), ["  a", " ab"]);
    }

    #[test]
    fn the_index_is_asked_for_the_uncommon_parts_only() {
        let shares = shares();
        assert!(shares.common(&['m', 'a', 'i']));
        assert!(!shares.common(&['l', '1', '2']));
        assert_eq!(
            index_pattern("@mail12.exa", &shares).as_deref(),
            Some("%l12.%")
        );
        assert_eq!(
            index_pattern("person 45 ", &shares).as_deref(),
            Some("% 45 %")
        );
    }

    #[test]
    fn the_whole_text_when_nothing_or_everything_is_common() {
        let shares = shares();
        assert_eq!(index_pattern("zq9", &shares), None);
        assert_eq!(index_pattern("person", &shares), None);
        assert_eq!(index_pattern("ab", &shares), None);
        assert_eq!(index_pattern("x", &TrigramShares::default()), None);
    }

    /// The literal parts of a pattern made of `%` and escaped text.
    fn parts(pattern: &str) -> Vec<String> {
        let (mut parts, mut part, mut escaped) = (Vec::new(), String::new(), false);
        for c in pattern.chars() {
            match (escaped, c) {
                (false, '\\') => escaped = true,
                (false, '%') => parts.push(std::mem::take(&mut part)),
                _ => {
                    part.push(c);
                    escaped = false;
                }
            }
        }
        parts.into_iter().filter(|p| !p.is_empty()).collect()
    }

    #[test]
    fn every_text_that_holds_the_search_holds_the_pattern() {
        // The pattern's parts are pieces of the text in their order, so whatever holds
        // the text matches it; wildcards of the text stay escaped.
        let shares = shares();
        for text in [
            "@mail1_%.exa",
            "person 4\\5 mail",
            "mail 7 example",
            "ext-12 person",
        ] {
            let pattern = index_pattern(text, &shares).expect("a narrower pattern");
            let mut rest = text;
            for part in parts(&pattern) {
                let at = rest
                    .find(part.as_str())
                    .unwrap_or_else(|| panic!("{part:?} of {pattern:?} in {text:?}"));
                rest = &rest[at + part.len()..];
            }
        }
    }
}
