"""The scoring method in words: how a meeting's scores become each theme's ranking.

Every explanation of the method (the rubric page, the results frozen into each revision, /about,
the judges' pages and the staff's results and winners pages) is drawn from here, and the figures
in it come from the constants aggregation.py computes with, so what is published cannot drift
from what is computed: finalists are ranked by their normalised score (the mean of the judges'
z-scores), not by the weighted mean, and both figures are shown wherever a rank is.
"""

from app.i18n import N_, Translator
from app.services.judging import aggregation

# (message id, parameters taken from the computation's constants), in reading order.
_STEPS: tuple[tuple[str, dict[str, object]], ...] = (
    (
        N_(
            "Each judge scores every finalist of their theme on each criterion. A judge's score"
            " for a finalist is the weighted mean of those scores: a criterion with more weight"
            " counts more."
        ),
        {},
    ),
    (
        N_(
            "Judges do not all use the scale the same way: a harsh judge gives everyone low"
            " scores, a lenient one gives everyone high scores. So that a harsh and a lenient"
            " judge weigh the same, each judge's scores are normalised: each score is compared"
            " with that judge's own average and spread over all the finalists they scored in"
            " the meeting (a z-score). A finalist the judge rated above their own average gets a"
            " positive figure, one below it a negative figure; a judge who gave every finalist"
            " the same score counts as 0 for all of them."
        ),
        {},
    ),
    (
        N_(
            "A finalist's normalised score is the mean of these figures over the judges who"
            " scored them. Finalists are ranked within their theme by the normalised score, not"
            " by the weighted mean, so the two can put finalists in a different order; both are"
            " shown. Normalised scores equal to %(decimals)s decimal places share a rank and are"
            " shown as a tie."
        ),
        {"decimals": aggregation.TIE_DECIMALS},
    ),
    (
        N_(
            "Only submitted score sheets count. A judge who declared a conflict of interest with"
            " a finalist does not score them and is left out of that finalist's figures. Each"
            " theme's result comes from its final meeting: the last closed meeting that"
            " discussed the theme."
        ),
        {},
    ),
)

_PUBLISHED = N_(
    "The judges proposed the winners and the campaign team confirmed them; where the team"
    " departed from the ranking, it recorded its reasons in writing. Individual judges' scores"
    " are confidential."
)

_CONTESTED = N_(
    "A finalist is contested when the judges' weighted scores have a standard deviation of"
    " %(threshold)s or more (%(percent)s%% of the width of the scale)."
)


def explanation(t: Translator) -> list[str]:
    """The method, one paragraph per step, in the translator's language."""
    return [t(message, **params) if params else t(message) for message, params in _STEPS]


def published_explanation(t: Translator) -> list[str]:
    """The method as frozen into a results revision: the steps, then how winners were decided."""
    return [*explanation(t), t(_PUBLISHED)]


def contested_rule(t: Translator, *, threshold: float) -> str:
    """When the staff's results page flags a finalist as contested; `threshold` is the
    meeting's (aggregation.MeetingResults.contested_from)."""
    percent = format(aggregation.CONTESTED_SHARE * 100, "g")
    return t(_CONTESTED, threshold=format(threshold, ".2f"), percent=percent)
