"""Every user-facing string goes through the translation layer (`tui_attention.i18n`).

A pseudo-translation wraps each message in ⟪ ⟫: with it installed, step titles and
narration, configuration errors, answer verdicts and key descriptions come out wrapped,
with their placeholders filled in; with no translation they are the English source text.
"""

import gettext
import importlib

import pytest

from tui_attention import i18n
from tui_attention.core import Overrides, build_config, compute
from tui_attention.core.config import Config, ConfigError
from tui_attention.lessons.answers import check_answer
from tui_attention.lessons.model import Question
from tui_attention.lessons.refs import evaluate
from tui_attention.steps import matrix_steps, word_steps

SWITCHES = {
    "default": Overrides(),
    "scaled": Overrides(scale="sqrt_dk"),
    "causal": Overrides(mask="causal"),
    "scaled and causal": Overrides(scale="sqrt_dk", mask="causal"),
    "two heads": Overrides(heads=2),
}
# Matrix steps whose title is a formula and nothing else ("Z = A V  (5x3)"): notation, not translated.
FORMULA_TITLES = {"x", "qkv", "qkt", "av"}


class Pseudo(gettext.NullTranslations):
    """Wraps every message, so that an untranslated string stands out."""

    def gettext(self, message):
        return f"⟪{message}⟫"

    def ngettext(self, singular, plural, n):
        return f"⟪{singular if n == 1 else plural}⟫"


@pytest.fixture
def pseudo():
    i18n.install(Pseudo())
    yield
    i18n.install()


def _trace(overrides: Overrides):
    return compute(build_config(None, overrides))


def _numeric_question() -> Question:
    return Question(id="test/1", kind="numeric", prompt="", answer="S[1,2]", tolerance=0.001)


def _assert_wrapped(text: str) -> None:
    assert "⟪" in text, text
    assert "{" not in text, f"a placeholder was left unfilled: {text}"


@pytest.mark.parametrize("name", list(SWITCHES))
def test_every_walkthrough_title_and_narration_is_translated(pseudo, name):
    trace = _trace(SWITCHES[name])
    for word in range(trace.n):
        steps = word_steps(trace, word)
        assert len(steps) == 9
        for step in steps:
            _assert_wrapped(step.title)
            _assert_wrapped(step.narration)


@pytest.mark.parametrize("name", list(SWITCHES))
def test_every_matrix_narration_is_translated_and_formula_titles_are_kept(name):
    trace = _trace(SWITCHES[name])
    english = {step.kind: step.title for step in matrix_steps(trace)}
    i18n.install(Pseudo())
    try:
        steps = list(matrix_steps(trace))  # the block's steps are built when asked for: here
    finally:
        i18n.install()
    for step in steps:
        _assert_wrapped(step.narration)
        if step.kind in FORMULA_TITLES:
            assert step.title == english[step.kind]
        else:
            _assert_wrapped(step.title)


def test_words_in_formula_lines_are_translated(pseudo):
    unscaled = word_steps(_trace(Overrides()), 0)[5]
    assert all("⟪" in line and "unchanged: no scaling" in line for line in unscaled.formula)
    masked = word_steps(_trace(Overrides(mask="causal")), 0)[6]
    assert "⟪" not in masked.formula[0]  # its own score is not masked: notation only
    assert all("masked: comes later⟫" in line for line in masked.formula[1:])


def test_config_errors_are_translated(pseudo):
    with pytest.raises(ConfigError) as bad_size:
        build_config(None, Overrides(d_k=0))
    _assert_wrapped(str(bad_size.value))
    with pytest.raises(ConfigError) as bad_tokens:
        Config(tokens=("two words",))
    _assert_wrapped(str(bad_tokens.value))


def test_answer_verdicts_are_translated(pseudo):
    trace = _trace(Overrides())
    question = _numeric_question()
    right = check_answer(question, trace, str(float(evaluate("S[1,2]", trace))))
    assert right.correct and right.explanation.startswith("⟪Right: ")
    for given in ("not a number", "5"):
        verdict = check_answer(question, trace, given)
        assert not verdict.correct
        _assert_wrapped(verdict.explanation)


def test_key_descriptions_are_translated_when_the_table_is_built():
    import tui_attention.tui.bindings as bindings

    i18n.install(Pseudo())
    try:
        translated = importlib.reload(bindings).every_key()
    finally:
        i18n.install()
        importlib.reload(bindings)
    assert all(key.description.startswith("⟪") for key in translated)
    assert [key.id for key in translated] == [key.id for key in bindings.every_key()]
    assert all("⟪" not in key.description for key in bindings.every_key())


def test_without_a_translation_the_text_is_the_english_source():
    trace = _trace(Overrides())
    softmax = word_steps(trace, 0)[7]
    assert softmax.title == "Softmax: attention weights of 'me'"
    assert "⟪" not in softmax.narration
    mask = word_steps(_trace(Overrides(mask="causal")), 0)[6]
    assert "4 word(s) are hidden from 'me'." in mask.narration
    with pytest.raises(ConfigError, match=r"^d_k: must be between 1 and 1024, got 0$"):
        build_config(None, Overrides(d_k=0))
    verdict = check_answer(_numeric_question(), trace, "5")
    assert verdict.explanation == "Not within ±0.001 of the answer. Recompute step by step, or ask for a hint."
