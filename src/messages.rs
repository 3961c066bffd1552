//! Every text the user sees or hears, French first.
//!
//! The readers are pupils from 11, their parents and grandparents, on a phone, some with a
//! screen reader. The texts follow the FALC rules (*facile à lire et à comprendre*): short
//! sentences, the instruction first, one number per line, no jargon. Every line is a whole
//! sentence, so that the live region can speak exactly what is shown ([`spoken`]).
//!
//! Numbers are written for speech as much as for the eye: durations in words ("1 minute
//! 8 secondes", "4 heures 34", never "1 min 08 s", which eSpeak reads "un min zéro huit S"), no
//! ordinal abbreviations ("31e" is read "trente et un e"), and thousands grouped with a plain
//! no-break space (with a narrow one, "12 345" is read as two numbers). French typography keeps
//! a no-break space before `:` and a narrow one before `!`, `?` and `%`, so that they never
//! wrap alone onto the next line of a narrow phone screen.

use std::time::Duration;

use crate::config::LangSetting;
use crate::machine::{Phase, View};
use crate::text::{decimal, two_digits};

/// No-break space (before `:`, between thousands, between a number and its unit).
const NBSP: &str = "\u{a0}";
/// Narrow no-break space (before `!`, `?` and `%` in French).
const NNBSP: &str = "\u{202f}";

/// The language texts are shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    /// French, the default: the portals serve French schools.
    #[default]
    Fr,
    /// English.
    En,
}

impl Language {
    /// The language to use for a setting and the page's `<html lang>`: with
    /// [`LangSetting::Auto`], `en` and any `en-*` tag give English, anything else (or no tag)
    /// French.
    pub fn resolve(setting: LangSetting, page_lang: Option<&str>) -> Language {
        match setting {
            LangSetting::Fr => Language::Fr,
            LangSetting::En => Language::En,
            LangSetting::Auto => {
                let primary = page_lang.unwrap_or("").trim().split(['-', '_']).next().unwrap_or("");
                if primary.eq_ignore_ascii_case("en") {
                    Language::En
                } else {
                    Language::Fr
                }
            }
        }
    }
}

/// The texts in one language, with the operator's title and message overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Messages {
    lang: Language,
    title: Option<String>,
    message: Option<String>,
}

impl Messages {
    /// Texts in `lang`; a non-blank `title` or `message` replaces the default one.
    pub fn new(lang: Language, title: Option<String>, message: Option<String>) -> Self {
        let non_blank = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
        Messages { lang, title: non_blank(title), message: non_blank(message) }
    }

    /// The language of these texts.
    pub fn language(&self) -> Language {
        self.lang
    }

    /// BCP 47 tag for the overlay's `lang` attribute, so screen readers pick the right voice.
    pub fn lang_tag(&self) -> &'static str {
        self.pick("fr", "en")
    }

    fn fr(&self) -> bool {
        self.lang == Language::Fr
    }

    /// `fr` or `en`, whichever is this language.
    fn pick<'a>(&self, fr: &'a str, en: &'a str) -> &'a str {
        if self.fr() {
            fr
        } else {
            en
        }
    }

    /// The overlay's title: the override, or "Connexion au portail" / "Signing in to the portal":
    /// neutral, since the phase line below says whether there is a queue.
    pub fn title(&self) -> &str {
        match &self.title {
            Some(title) => title,
            None => self.pick("Connexion au portail", "Signing in to the portal"),
        }
    }

    /// The explanation under the status: the operator's `data-message`, or the instruction
    /// first, then the reason, in three short sentences.
    pub fn message(&self) -> &str {
        match &self.message {
            Some(message) => message,
            None => self.pick(
                "Attendez votre tour. Ne fermez pas cette page\u{a0}: elle vous fera entrer toute seule. Il y a trop de monde sur le portail en ce moment.",
                "Wait for your turn. Do not close this page: it will let you in by itself. Too many people are using the portal right now.",
            ),
        }
    }

    /// The one number of the queue, the people before the user: "29 personnes avant vous.",
    /// "1 personne avant vous.", "Personne avant vous\u{a0}: c’est bientôt à vous." /
    /// "29 people ahead of you.", "1 person ahead of you.", "Nobody ahead of you: you are next."
    pub fn ahead(&self, n: u64) -> String {
        match (self.fr(), n) {
            (true, 0) => "Personne avant vous\u{a0}: c’est bientôt à vous.".to_string(),
            (false, 0) => "Nobody ahead of you: you are next.".to_string(),
            (true, 1) => "1 personne avant vous.".to_string(),
            (false, 1) => "1 person ahead of you.".to_string(),
            (_, n) => {
                [&self.number(n), self.pick(" personnes avant vous.", " people ahead of you.")]
                    .concat()
            }
        }
    }

    /// The expected wait in words, `low` rounded down and `high` rounded up to the minute so
    /// that it never promises less than the estimate: "Temps d’attente : entre 3 et 5 minutes.",
    /// "… environ 4 minutes.", "… moins de 3 minutes.", "… moins d’une minute.",
    /// "… entre 1 heure 10 et 1 heure 30.". Arguments in the wrong order are swapped.
    pub fn eta(&self, low: Duration, high: Duration) -> String {
        let (low, high) = if low <= high { (low, high) } else { (high, low) };
        let (lo, hi) = (low.as_secs() / 60, ceil_seconds(high).div_ceil(60));
        let fr = self.fr();
        let range = if high < Duration::from_secs(60) {
            self.pick("moins d’une minute", "less than a minute").to_string()
        } else if lo == 0 {
            // "between 0 and 3 minutes" reads oddly; "less than 3 minutes" says the same thing.
            [self.pick("moins de ", "less than "), &self.minutes(hi)].concat()
        } else if lo == hi {
            [self.pick("environ ", "about "), &self.minutes(hi)].concat()
        } else {
            // The unit is said once when both ends are in minutes: "entre 3 et 5 minutes".
            let lo_text = if hi < 60 { self.number(lo) } else { self.minutes(lo) };
            let (between, and) = if fr { ("entre ", " et ") } else { ("between ", " and ") };
            [between, &lo_text, and, &self.minutes(hi)].concat()
        };
        [self.pick("Temps d’attente\u{a0}: ", "Waiting time: "), &range, "."].concat()
    }

    /// When the page asks the gate again, rounded up so it never shows 0 while still waiting:
    /// "La page vérifie à nouveau dans 1 minute 8 secondes." / "This page checks again in
    /// 1 minute 8 seconds."; zero gives "Vérification en cours…" / "Checking…".
    pub fn countdown(&self, remaining: Duration) -> String {
        let secs = ceil_seconds(remaining);
        if secs == 0 {
            return self.pick("Vérification en cours…", "Checking…").to_string();
        }
        let lead = self.pick("La page vérifie à nouveau dans ", "This page checks again in ");
        [lead, &self.duration(secs), "."].concat()
    }

    /// "Le portail a répondu à 8 heures 2." / "The portal answered at 08:02." (local time,
    /// given by the driver; hours and minutes, as a clock is read aloud: "huit heures deux").
    pub fn last_update(&self, hours: u8, minutes: u8) -> String {
        let (h, m) = (u64::from(hours), u64::from(minutes));
        if self.fr() {
            let hours = self.count(h, "heure", "");
            ["Le portail a répondu à ", &hours, " ", &decimal(m), "."].concat()
        } else {
            ["The portal answered at ", &two_digits(h), ":", &two_digits(m), "."].concat()
        }
    }

    /// One short status line per phase, a whole sentence that never contradicts a button next
    /// to it.
    pub fn heading(&self, phase: Phase) -> &'static str {
        let (fr, en) = match phase {
            Phase::Checking => {
                ("La page vérifie s’il y a de la place…", "Checking if there is room…")
            }
            Phase::Queued => ("Vous êtes dans la file d’attente.", "You are in the queue."),
            Phase::Throttled => {
                ("Le portail est plein pour le moment.", "The portal is full right now.")
            }
            Phase::Verifying => (
                "Votre appareil fait une vérification contre les robots. Cela prend quelques secondes.",
                "Your device is doing a check against robots. It takes a few seconds.",
            ),
            Phase::Offline => (
                "Vous n’avez plus internet. Votre place est gardée.",
                "You are offline. Your place is kept.",
            ),
            Phase::Closed => {
                ("Le portail est fermé pour le moment.", "The portal is closed for now.")
            }
            Phase::Unavailable => (
                "Le portail ne répond pas pour le moment.",
                "The portal is not answering right now.",
            ),
            Phase::CookiesRequired => (
                "Activez les cookies pour garder votre place.",
                "Turn on cookies to keep your place.",
            ),
            Phase::GaveUp => {
                ("Le portail ne répond toujours pas.", "The portal is still not answering.")
            }
            Phase::Admitted => (
                "C’est votre tour\u{202f}! Vous pouvez vous connecter.",
                "It’s your turn! You can log in now.",
            ),
        };
        self.pick(fr, en)
    }

    /// The status line for `view`: its phase's heading, or once in, the admission with the
    /// time left on the pass ([`Messages::admitted`]), or what fail-open means. The overlay shows
    /// it and the live region speaks it, so both say the same.
    pub fn status(&self, view: &View) -> String {
        match view.phase {
            Phase::Admitted if view.failed_open => self.failed_open().to_string(),
            Phase::Admitted if view.pass_left == Some(Duration::ZERO) => {
                self.pass_left(Duration::ZERO)
            }
            Phase::Admitted => self.admitted(view.pass_left),
            phase => self.heading(phase).to_string(),
        }
    }

    /// The admission, with the time the pass leaves ([`Messages::time_left`]): "C’est votre
    /// tour ! Vous avez 5 minutes pour vous connecter." / "It’s your turn! You have 5 minutes to
    /// log in."; without a pass lifetime, or once it ran out, the [`Phase::Admitted`] heading.
    pub fn admitted(&self, pass_left: Option<Duration>) -> String {
        let Some(left) = pass_left.filter(|d| !d.is_zero()) else {
            return self.heading(Phase::Admitted).to_string();
        };
        let time = self.time_left(left);
        if self.fr() {
            ["C’est votre tour", NNBSP, "! Vous avez ", &time, " pour vous connecter."].concat()
        } else {
            ["It’s your turn! You have ", &time, " to log in."].concat()
        }
    }

    /// The time left on the pass: "Il vous reste 4 minutes." / "You have 4 minutes left.";
    /// at zero, "Votre temps est fini." / "Your time is up.".
    pub fn pass_left(&self, left: Duration) -> String {
        if left.is_zero() {
            return self.pick("Votre temps est fini.", "Your time is up.").to_string();
        }
        let time = self.time_left(left);
        if self.fr() {
            ["Il vous reste ", &time, "."].concat()
        } else {
            ["You have ", &time, " left."].concat()
        }
    }

    /// The warning before the pass runs out, instruction first: "Votre temps est presque fini.
    /// Appuyez sur « Prolonger » pour avoir plus de temps." / "Your time is almost up. Press
    /// “Extend” to get more time."
    pub fn pass_warning(&self) -> &'static str {
        self.pick(
            "Votre temps est presque fini. Appuyez sur «\u{a0}Prolonger\u{a0}» pour avoir plus de temps.",
            "Your time is almost up. Press “Extend” to get more time.",
        )
    }

    /// The label of the button that extends the pass: "Prolonger" / "Extend".
    pub fn extend_label(&self) -> &'static str {
        self.pick("Prolonger", "Extend")
    }

    /// What happens next after an admission that leaves the page (a redirect, or the form the
    /// user already sent), and when: "Vous allez entrer dans le portail dans 3 secondes." /
    /// "You will enter the portal in 3 seconds.", rounded up.
    pub fn leaving(&self, remaining: Duration) -> String {
        let time = self.duration(ceil_seconds(remaining).max(1));
        let lead =
            self.pick("Vous allez entrer dans le portail dans ", "You will enter the portal in ");
        [lead, &time, "."].concat()
    }

    /// The button that leaves at once: "Entrer maintenant" / "Enter now".
    pub fn enter_now_label(&self) -> &'static str {
        self.pick("Entrer maintenant", "Enter now")
    }

    /// The button that stops the automatic departure: "Rester sur cette page" / "Stay on this page".
    pub fn stay_label(&self) -> &'static str {
        self.pick("Rester sur cette page", "Stay on this page")
    }

    /// Fail-open, said as what the user can do: "La file d’attente ne répond pas. Vous pouvez
    /// essayer de vous connecter." / "The queue is not answering. You can try to log in."
    pub fn failed_open(&self) -> &'static str {
        self.pick(
            "La file d’attente ne répond pas. Vous pouvez essayer de vous connecter.",
            "The queue is not answering. You can try to log in.",
        )
    }

    /// Why the guarded form's button does nothing yet (linked to it with `aria-describedby`):
    /// "Attendez votre tour pour vous connecter." / "Wait for your turn to log in."
    pub fn guard_reason(&self) -> &'static str {
        self.pick("Attendez votre tour pour vous connecter.", "Wait for your turn to log in.")
    }

    /// The label of the "retry now" button: "Réessayer maintenant" / "Try again now".
    pub fn retry_label(&self) -> &'static str {
        self.pick("Réessayer maintenant", "Try again now")
    }

    /// Why the retry button is disabled, and until when, rounded up: "Vous pourrez réessayer
    /// dans 1 minute 8 secondes." / "You can try again in 1 minute 8 seconds."
    pub fn retry_wait(&self, remaining: Duration) -> String {
        let time = self.duration(ceil_seconds(remaining).max(1));
        let lead = self.pick("Vous pourrez réessayer dans ", "You can try again in ");
        [lead, &time, "."].concat()
    }

    /// The help link's text, saying that it opens a new tab (the waiting page must stay open):
    /// "Besoin d’aide ? (nouvel onglet)" / "Need help? (new tab)".
    pub fn help_label(&self) -> &'static str {
        self.pick("Besoin d’aide\u{202f}? (nouvel onglet)", "Need help? (new tab)")
    }

    /// Accessible label of the progress bar: "Progression : 40 %" / "Progress: 40%" (capped at 100).
    pub fn progress_label(&self, percent: u8) -> String {
        let percent = decimal(percent.min(100).into());
        if self.fr() {
            ["Progression", NBSP, ": ", &percent, NNBSP, "%"].concat()
        } else {
            ["Progress: ", &percent, "%"].concat()
        }
    }

    /// `n` with thousands grouped: "12 345" (no-break space) / "12,345".
    fn number(&self, n: u64) -> String {
        let separator = self.pick(NBSP, ",");
        let digits = decimal(n);
        let mut out = String::with_capacity(digits.len() * 2);
        for (i, d) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push_str(separator);
            }
            out.push(d);
        }
        out
    }

    /// `n` and its unit in words, singular or plural: "1 minute", "12 345 minutes".
    fn count(&self, n: u64, fr_one: &str, en_one: &str) -> String {
        let plural = if n > 1 { "s" } else { "" };
        [&self.number(n), NBSP, self.pick(fr_one, en_one), plural].concat()
    }

    /// Time left to act, to the nearest second (the gate's whole seconds, read a few
    /// milliseconds later), in whole minutes rounded down from two minutes on, so that it
    /// changes once a minute and never promises more: "5 minutes", "1 minute 8 secondes".
    fn time_left(&self, left: Duration) -> String {
        let secs = left.saturating_add(Duration::from_millis(500)).as_secs().max(1);
        if secs >= 120 {
            self.minutes(secs / 60)
        } else {
            self.duration(secs)
        }
    }

    /// Whole minutes in words: "5 minutes", "1 heure", "4 heures 34" / "4 hours 34 minutes".
    fn minutes(&self, m: u64) -> String {
        if m < 60 {
            return self.count(m, "minute", "minute");
        }
        let (hours, rest) = (self.count(m / 60, "heure", "hour"), m % 60);
        match (rest, self.fr()) {
            (0, _) => hours,
            // Said as a clock is read: "quatre heures trente-quatre".
            (rest, true) => [&hours, NBSP, &decimal(rest)].concat(),
            (rest, false) => [&hours, " ", &self.count(rest, "minute", "minute")].concat(),
        }
    }

    /// Whole seconds in words: "53 secondes", "1 minute 8 secondes", "2 minutes"; from an hour
    /// on, minutes rounded up: "1 heure 2" / "1 hour 2 minutes".
    fn duration(&self, secs: u64) -> String {
        if secs >= 3600 {
            return self.minutes(secs.div_ceil(60));
        }
        let seconds = self.count(secs % 60, "seconde", "second");
        match secs / 60 {
            0 => seconds,
            m if secs % 60 == 0 => self.count(m, "minute", "minute"),
            m => [&self.count(m, "minute", "minute"), " ", &seconds].concat(),
        }
    }
}

/// What the live region says for the lines shown: the same sentences, in the same order, so
/// that what is heard is what is seen.
pub fn spoken<'a>(lines: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for line in lines {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(line);
    }
    out
}

fn ceil_seconds(d: Duration) -> u64 {
    d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fr() -> Messages {
        Messages::new(Language::Fr, None, None)
    }
    fn en() -> Messages {
        Messages::new(Language::En, None, None)
    }
    fn min(m: u64) -> Duration {
        Duration::from_secs(m * 60)
    }
    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }
    /// Writes test expectations with plain spaces: `_` stands for a no-break space, `^` for a
    /// narrow one, so the typography is asserted without unreadable escapes.
    fn t(s: &str) -> String {
        s.replace('_', NBSP).replace('^', NNBSP)
    }

    #[test]
    fn auto_language_is_english_only_for_english_pages() {
        assert_eq!(Language::resolve(LangSetting::Auto, Some("en")), Language::En);
        assert_eq!(Language::resolve(LangSetting::Auto, Some("en-GB")), Language::En);
        assert_eq!(Language::resolve(LangSetting::Auto, Some(" EN_us ")), Language::En);
        assert_eq!(Language::resolve(LangSetting::Auto, Some("fr-FR")), Language::Fr);
        assert_eq!(Language::resolve(LangSetting::Auto, Some("de")), Language::Fr);
        assert_eq!(Language::resolve(LangSetting::Auto, Some("eng")), Language::Fr);
        assert_eq!(Language::resolve(LangSetting::Auto, Some("")), Language::Fr);
        assert_eq!(Language::resolve(LangSetting::Auto, None), Language::Fr);
        assert_eq!(Language::resolve(LangSetting::Fr, Some("en")), Language::Fr);
        assert_eq!(Language::resolve(LangSetting::En, None), Language::En);
    }

    #[test]
    fn the_operator_message_replaces_the_explanation_and_blank_overrides_are_ignored() {
        let m = Messages::new(Language::Fr, Some("Bienvenue".into()), Some("Patientez".into()));
        assert_eq!((m.title(), m.message()), ("Bienvenue", "Patientez"));
        let m = Messages::new(Language::En, Some("  ".into()), Some(String::new()));
        assert_eq!((m.title(), m.message()), ("Signing in to the portal", en().message()));
        assert_eq!(fr().title(), "Connexion au portail");
        assert_eq!((fr().lang_tag(), en().lang_tag()), ("fr", "en"));
        assert_eq!(en().language(), Language::En);
    }

    #[test]
    fn the_default_explanation_gives_the_instruction_first_in_short_sentences() {
        assert_eq!(
            fr().message(),
            t("Attendez votre tour. Ne fermez pas cette page_: elle vous fera entrer toute seule. Il y a trop de monde sur le portail en ce moment.")
        );
        assert_eq!(
            en().message(),
            "Wait for your turn. Do not close this page: it will let you in by itself. Too many people are using the portal right now."
        );
        for m in [fr(), en()] {
            assert!(m.message().starts_with(m.pick("Attendez", "Wait")));
            for sentence in m.message().split(". ") {
                let words = sentence.split_whitespace().count();
                assert!(words <= 15, "{words} words in {sentence:?}");
            }
        }
    }

    #[test]
    fn the_queue_shows_one_number_the_people_before_you() {
        assert_eq!(fr().ahead(0), t("Personne avant vous_: c’est bientôt à vous."));
        assert_eq!(fr().ahead(1), "1 personne avant vous.");
        assert_eq!(fr().ahead(29), "29 personnes avant vous.");
        assert_eq!(en().ahead(0), "Nobody ahead of you: you are next.");
        assert_eq!(en().ahead(1), "1 person ahead of you.");
        assert_eq!(en().ahead(29), "29 people ahead of you.");
    }

    #[test]
    fn thousands_are_grouped_with_a_plain_no_break_space_that_speech_reads_as_one_number() {
        assert_eq!(fr().ahead(12_345), t("12_345 personnes avant vous."));
        assert_eq!(fr().ahead(1_234_567), t("1_234_567 personnes avant vous."));
        assert_eq!(en().ahead(12_345), "12,345 people ahead of you.");
        assert_eq!(en().ahead(u64::MAX), "18,446,744,073,709,551,615 people ahead of you.");
        for n in [999, 1_000, 12_345, 10_000_000] {
            assert!(!fr().ahead(n).contains(NNBSP), "{n}: narrow space in a number");
        }
    }

    #[test]
    fn eta_is_in_words_low_rounded_down_and_high_up() {
        assert_eq!(
            fr().eta(s(3 * 60 + 59), s(4 * 60 + 1)),
            t("Temps d’attente_: entre 3 et 5_minutes.")
        );
        assert_eq!(
            en().eta(s(3 * 60 + 59), s(4 * 60 + 1)),
            t("Waiting time: between 3 and 5_minutes.")
        );
        assert_eq!(
            fr().eta(s(4 * 60 + 30), min(5) - Duration::from_millis(1)),
            t("Temps d’attente_: entre 4 et 5_minutes.")
        );
        assert_eq!(fr().eta(min(5), min(3)), t("Temps d’attente_: entre 3 et 5_minutes."));
    }

    #[test]
    fn eta_with_equal_ends_says_about_one_number() {
        assert_eq!(fr().eta(min(2), min(2)), t("Temps d’attente_: environ 2_minutes."));
        assert_eq!(fr().eta(min(1), min(1)), t("Temps d’attente_: environ 1_minute."));
        assert_eq!(en().eta(min(4), min(4)), t("Waiting time: about 4_minutes."));
        assert_eq!(fr().eta(min(60), min(60)), t("Temps d’attente_: environ 1_heure."));
        assert_eq!(fr().eta(min(274), min(274)), t("Temps d’attente_: environ 4_heures_34."));
        assert_eq!(en().eta(min(274), min(274)), t("Waiting time: about 4_hours 34_minutes."));
    }

    #[test]
    fn eta_under_a_minute_says_so() {
        assert_eq!(fr().eta(Duration::ZERO, s(59)), t("Temps d’attente_: moins d’une minute."));
        assert_eq!(en().eta(s(10), s(40)), "Waiting time: less than a minute.");
        assert_eq!(fr().eta(s(10), s(61)), t("Temps d’attente_: moins de 2_minutes."));
        assert_eq!(en().eta(Duration::ZERO, min(3)), t("Waiting time: less than 3_minutes."));
    }

    #[test]
    fn eta_in_hours_reads_as_a_clock_is_read() {
        assert_eq!(
            fr().eta(min(70), min(90)),
            t("Temps d’attente_: entre 1_heure_10 et 1_heure_30.")
        );
        assert_eq!(
            en().eta(min(70), min(90)),
            t("Waiting time: between 1_hour 10_minutes and 1_hour 30_minutes.")
        );
        assert_eq!(
            fr().eta(min(45), min(65)),
            t("Temps d’attente_: entre 45_minutes et 1_heure_5.")
        );
        assert_eq!(
            fr().eta(min(120), min(185)),
            t("Temps d’attente_: entre 2_heures et 3_heures_5.")
        );
        let _ = fr().eta(Duration::MAX, Duration::MAX);
    }

    #[test]
    fn durations_are_words_without_units_abbreviated_or_zero_padded() {
        let ms = Duration::from_millis;
        assert_eq!(fr().countdown(s(53)), t("La page vérifie à nouveau dans 53_secondes."));
        assert_eq!(fr().countdown(ms(11_001)), t("La page vérifie à nouveau dans 12_secondes."));
        assert_eq!(fr().countdown(ms(1)), t("La page vérifie à nouveau dans 1_seconde."));
        assert_eq!(fr().countdown(s(68)), t("La page vérifie à nouveau dans 1_minute 8_secondes."));
        assert_eq!(fr().countdown(s(120)), t("La page vérifie à nouveau dans 2_minutes."));
        assert_eq!(
            fr().countdown(s(121)),
            t("La page vérifie à nouveau dans 2_minutes 1_seconde.")
        );
        assert_eq!(fr().countdown(s(3600)), t("La page vérifie à nouveau dans 1_heure."));
        assert_eq!(fr().countdown(s(3_719)), t("La page vérifie à nouveau dans 1_heure_2."));
        assert_eq!(
            fr().countdown(s(4 * 3600 + 34 * 60)),
            t("La page vérifie à nouveau dans 4_heures_34.")
        );
        assert_eq!(en().countdown(s(68)), t("This page checks again in 1_minute 8_seconds."));
        assert_eq!(en().countdown(s(1)), t("This page checks again in 1_second."));
        assert_eq!(en().countdown(s(3_719)), t("This page checks again in 1_hour 2_minutes."));
        assert_eq!(fr().countdown(Duration::ZERO), "Vérification en cours…");
        assert_eq!(en().countdown(Duration::ZERO), "Checking…");
        let _ = en().countdown(Duration::MAX);
    }

    #[test]
    fn the_last_answer_is_a_time_of_day_said_in_words() {
        assert_eq!(fr().last_update(8, 2), t("Le portail a répondu à 8_heures 2."));
        assert_eq!(fr().last_update(1, 10), t("Le portail a répondu à 1_heure 10."));
        assert_eq!(fr().last_update(0, 0), t("Le portail a répondu à 0_heure 0."));
        assert_eq!(en().last_update(8, 2), "The portal answered at 08:02.");
    }

    #[test]
    fn headings_are_whole_sentences() {
        let fr_headings: Vec<&str> = Phase::ALL.iter().map(|&p| fr().heading(p)).collect();
        assert_eq!(
            fr_headings,
            [
                "La page vérifie s’il y a de la place…",
                "Vous êtes dans la file d’attente.",
                "Le portail est plein pour le moment.",
                "Votre appareil fait une vérification contre les robots. Cela prend quelques secondes.",
                "Vous n’avez plus internet. Votre place est gardée.",
                "Le portail est fermé pour le moment.",
                "Le portail ne répond pas pour le moment.",
                "Activez les cookies pour garder votre place.",
                "Le portail ne répond toujours pas.",
                &t("C’est votre tour^! Vous pouvez vous connecter."),
            ]
        );
        let en_headings: Vec<&str> = Phase::ALL.iter().map(|&p| en().heading(p)).collect();
        assert_eq!(
            en_headings,
            [
                "Checking if there is room…",
                "You are in the queue.",
                "The portal is full right now.",
                "Your device is doing a check against robots. It takes a few seconds.",
                "You are offline. Your place is kept.",
                "The portal is closed for now.",
                "The portal is not answering right now.",
                "Turn on cookies to keep your place.",
                "The portal is still not answering.",
                "It’s your turn! You can log in now.",
            ]
        );
    }

    #[test]
    fn retry_states_never_contradict_the_retry_button_and_a_disabled_one_says_why() {
        for m in [fr(), en()] {
            for phase in Phase::ALL {
                let h = m.heading(phase).to_lowercase();
                for contradiction in ["plus tard", "later", "automatique", "automatically"] {
                    assert!(!h.contains(contradiction), "{h:?} says {contradiction:?}");
                }
            }
        }
        assert_eq!(fr().retry_label(), "Réessayer maintenant");
        assert_eq!(en().retry_label(), "Try again now");
        assert_eq!(fr().retry_wait(s(68)), t("Vous pourrez réessayer dans 1_minute 8_secondes."));
        assert_eq!(fr().retry_wait(Duration::ZERO), t("Vous pourrez réessayer dans 1_seconde."));
        assert_eq!(en().retry_wait(min(2)), t("You can try again in 2_minutes."));
        assert_eq!(fr().guard_reason(), "Attendez votre tour pour vous connecter.");
        assert_eq!(en().guard_reason(), "Wait for your turn to log in.");
    }

    #[test]
    fn admission_says_how_long_the_pass_lasts() {
        assert_eq!(
            fr().admitted(Some(s(300))),
            t("C’est votre tour^! Vous avez 5_minutes pour vous connecter.")
        );
        assert_eq!(
            fr().admitted(Some(Duration::from_millis(299_900))),
            t("C’est votre tour^! Vous avez 5_minutes pour vous connecter.")
        );
        assert_eq!(
            fr().admitted(Some(s(301))),
            t("C’est votre tour^! Vous avez 5_minutes pour vous connecter.")
        );
        assert_eq!(
            fr().admitted(Some(s(299))),
            t("C’est votre tour^! Vous avez 4_minutes pour vous connecter.")
        );
        assert_eq!(
            fr().admitted(Some(s(68))),
            t("C’est votre tour^! Vous avez 1_minute 8_secondes pour vous connecter.")
        );
        assert_eq!(en().admitted(Some(s(300))), t("It’s your turn! You have 5_minutes to log in."));
        assert_eq!(fr().admitted(None), fr().heading(Phase::Admitted));
        assert_eq!(en().admitted(Some(Duration::ZERO)), en().heading(Phase::Admitted));
        assert_eq!(fr().pass_left(s(252)), t("Il vous reste 4_minutes."));
        assert_eq!(fr().pass_left(s(59)), t("Il vous reste 59_secondes."));
        assert_eq!(en().pass_left(s(252)), t("You have 4_minutes left."));
        assert_eq!(fr().pass_left(Duration::from_millis(1)), t("Il vous reste 1_seconde."));
        assert_eq!(fr().pass_left(Duration::ZERO), "Votre temps est fini.");
        assert_eq!(en().pass_left(Duration::ZERO), "Your time is up.");
        assert_eq!(
            fr().pass_warning(),
            t("Votre temps est presque fini. Appuyez sur «_Prolonger_» pour avoir plus de temps.")
        );
        assert_eq!(en().pass_warning(), "Your time is almost up. Press “Extend” to get more time.");
        assert_eq!((fr().extend_label(), en().extend_label()), ("Prolonger", "Extend"));
    }

    #[test]
    fn leaving_the_page_is_announced_with_a_way_to_go_now_or_stay() {
        let ms = Duration::from_millis;
        assert_eq!(
            fr().leaving(ms(2_100)),
            t("Vous allez entrer dans le portail dans 3_secondes.")
        );
        assert_eq!(
            fr().leaving(Duration::ZERO),
            t("Vous allez entrer dans le portail dans 1_seconde.")
        );
        assert_eq!(en().leaving(s(3)), t("You will enter the portal in 3_seconds."));
        assert_eq!(
            (fr().enter_now_label(), en().enter_now_label()),
            ("Entrer maintenant", "Enter now")
        );
        assert_eq!(
            (fr().stay_label(), en().stay_label()),
            ("Rester sur cette page", "Stay on this page")
        );
    }

    #[test]
    fn fail_open_and_help_are_plain_sentences() {
        assert_eq!(
            fr().failed_open(),
            "La file d’attente ne répond pas. Vous pouvez essayer de vous connecter."
        );
        assert_eq!(en().failed_open(), "The queue is not answering. You can try to log in.");
        assert_eq!(fr().help_label(), t("Besoin d’aide^? (nouvel onglet)"));
        assert_eq!(en().help_label(), "Need help? (new tab)");
    }

    #[test]
    fn progress_label_uses_french_spacing_and_caps_at_100() {
        assert_eq!(fr().progress_label(40), t("Progression_: 40^%"));
        assert_eq!(en().progress_label(40), "Progress: 40%");
        assert_eq!(en().progress_label(250), "Progress: 100%");
    }

    #[test]
    fn spoken_text_is_the_shown_lines_in_order() {
        let m = fr();
        let (ahead, eta) = (m.ahead(29), m.eta(min(2), min(2)));
        assert_eq!(
            spoken([m.heading(Phase::Queued), ahead.as_str(), eta.as_str()]),
            t("Vous êtes dans la file d’attente. 29 personnes avant vous. Temps d’attente_: environ 2_minutes.")
        );
        assert_eq!(spoken([]), "");
    }

    /// Every output of `m` for a spread of inputs.
    fn all_outputs(m: &Messages) -> Vec<String> {
        let mut out: Vec<String> = [
            m.title(),
            m.message(),
            m.retry_label(),
            m.pass_warning(),
            m.extend_label(),
            m.enter_now_label(),
            m.stay_label(),
            m.failed_open(),
            m.guard_reason(),
            m.help_label(),
        ]
        .map(str::to_string)
        .into();
        for phase in Phase::ALL {
            out.push(m.heading(phase).to_string());
        }
        for n in [0, 1, 2, 40, 59, 60, 61, 68, 3_599, 3_600, 3_719, 12_345, 16_440, 200_000] {
            out.push(m.ahead(n));
            out.push(m.countdown(s(n)));
            out.push(m.eta(min(n / 2), min(n)));
            out.push(m.eta(s(n / 2), s(n)));
            out.push(m.admitted(Some(s(n))));
            out.push(m.pass_left(s(n)));
            out.push(m.leaving(s(n)));
            out.push(m.retry_wait(s(n)));
        }
        out.push(m.last_update(8, 2));
        out.push(m.progress_label(40));
        out
    }

    #[test]
    fn no_text_abbreviates_a_unit_or_writes_an_ordinal() {
        for m in [fr(), en()] {
            for text in all_outputs(&m) {
                for word in text.split(|c: char| c.is_whitespace() || c == '\u{a0}') {
                    let word = word.trim_end_matches(['.', ',', '…']);
                    for abbreviation in ["s", "min", "h", "mn", "sec", "er", "e", "ème"] {
                        assert_ne!(word, abbreviation, "{abbreviation:?} in {text:?}");
                    }
                    let ordinal = word.trim_start_matches(|c: char| c.is_ascii_digit());
                    if ordinal.len() < word.len() {
                        assert!(
                            !["e", "er", "ème", "st", "nd", "rd", "th"].contains(&ordinal),
                            "ordinal {word:?} in {text:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn french_outputs_contain_no_english_words() {
        const ENGLISH: &[&str] = &[
            "the",
            "you",
            "your",
            "queue",
            "wait",
            "waiting",
            "check",
            "checking",
            "next",
            "ahead",
            "people",
            "person",
            "nobody",
            "less",
            "than",
            "about",
            "hour",
            "hours",
            "second",
            "seconds",
            "at",
            "most",
            "now",
            "try",
            "again",
            "progress",
            "estimated",
            "last",
            "portal",
            "busy",
            "closed",
            "turn",
            "log",
            "in",
            "is",
            "are",
            "of",
            "to",
            "please",
            "time",
            "enter",
            "stay",
            "extend",
            "need",
            "help",
            "between",
            "and",
        ];
        for text in all_outputs(&fr()) {
            for word in text.split(|c: char| !c.is_alphabetic()) {
                // Words spelled alike in both languages ("minute", "place", "page") are left out.
                let lower = word.to_lowercase();
                assert!(!ENGLISH.contains(&lower.as_str()), "English word {word:?} in {text:?}");
            }
        }
    }

    #[test]
    fn french_outputs_never_break_before_punctuation() {
        for text in all_outputs(&fr()) {
            for bad in [" :", " !", " ?", " %", " ;", " »", "« "] {
                assert!(!text.contains(bad), "breakable space before punctuation in {text:?}");
            }
        }
    }

    #[test]
    fn every_text_is_a_whole_sentence_so_that_speaking_lines_in_a_row_pauses_between_them() {
        for m in [fr(), en()] {
            for text in all_outputs(&m) {
                if text == m.title()
                    || text == m.help_label()
                    || text.starts_with(m.pick("Progression", "Progress"))
                {
                    continue; // a heading and a label, not sentences
                }
                if text == m.retry_label()
                    || text == m.extend_label()
                    || text == m.enter_now_label()
                    || text == m.stay_label()
                {
                    continue; // button labels
                }
                assert!(text.ends_with(['.', '!', '?', '…']), "{text:?} is not a sentence");
            }
        }
    }
}
