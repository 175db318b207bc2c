//! "Did you mean …?": the one way runner picks the name a typo was meant to be.

/// The candidate closest to `typed` (Jaro-Winkler, without regard to case), when it is close enough to be the
/// one meant.
pub fn closest<'a>(typed: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let typed = typed.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&typed, &c.to_lowercase()), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_typo_finds_its_name_and_nonsense_finds_none() {
        let names = ["Name", "Phone", "BillingCity", "OwnerId"];
        assert_eq!(super::closest("Nmae", names), Some("Name"));
        assert_eq!(super::closest("billingcity", names), Some("BillingCity"));
        assert_eq!(super::closest("Zzzzqx", names), None);
    }
}
