"""Scenario files, overrides and the Config's validation."""

import re
import unicodedata

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_attention.core import Config, ConfigError, Overrides, build_config, compute, load_scenario
from tui_attention.infra.files import write_atomic
from tui_attention.core.scenario import NOTEBOOK_TOKENS, dumps_scenario


def write(tmp_path, text, name="s.toml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_minimal_file_uses_notebook_defaults_and_sinusoidal(tmp_path):
    cfg = load_scenario(write(tmp_path, 'sentence = "hola mundo"\n'))
    assert cfg.tokens == ("hola", "mundo")
    assert (cfg.seed, cfg.d_model, cfg.d_k, cfg.d_v, cfg.d_ff, cfg.heads) == (23, 4, 3, 3, 5, 1)
    assert (cfg.scale, cfg.mask, cfg.weight_scale, cfg.positions_kind) == ("none", "none", 0.1, "sinusoidal")


def test_unknown_key_is_an_error_naming_it(tmp_path):
    with pytest.raises(ConfigError, match="d_modle"):
        load_scenario(write(tmp_path, 'tokens = ["a"]\nd_modle = 4\n'))
    with pytest.raises(ConfigError, match="w_x"):
        load_scenario(write(tmp_path, 'tokens = ["a"]\n[weights]\nw_x = [[1.0]]\n'))


def test_wrong_shape_names_the_matrix(tmp_path):
    with pytest.raises(ConfigError, match=r"weights.w_q: shape is 2x3, expected 4x3"):
        load_scenario(write(tmp_path, 'tokens = ["a"]\n[weights]\nw_q = [[1.0,2.0,3.0],[1.0,2.0,3.0]]\n'))


def test_nan_and_inf_values_are_rejected(tmp_path):
    with pytest.raises(ConfigError, match="not finite"):
        load_scenario(write(tmp_path, 'tokens = ["a"]\nd_model = 1\n[embeddings]\nvalues = [[nan]]\n'))
    with pytest.raises(ConfigError, match="weight_scale"):
        load_scenario(write(tmp_path, 'tokens = ["a"]\nweight_scale = inf\n'))


@pytest.mark.parametrize("field,value", [("d_model", 0), ("d_k", -1), ("heads", 2.5), ("d_v", 5000), ("seed", -3)])
def test_bad_dimensions(field, value):
    with pytest.raises(ConfigError, match=field):
        Config(tokens=("a",), **{field: value})


def test_token_limit_and_unicode_tokens():
    Config(tokens=("ñandú", "猫", "🙂"))
    with pytest.raises(ConfigError, match="limit is 1024"):
        Config(tokens=tuple(f"w{i}" for i in range(1025)))
    with pytest.raises(ConfigError, match="at least one token"):
        Config(tokens=())


@pytest.mark.parametrize("token", ["a\x1b[2Jb", "x\x07", "\x9b31m", "ab\u202ecd", "\u2066x", "del\x7f"])
def test_tokens_with_control_characters_are_refused(token):
    # Served tutors draw tokens on every attendee's terminal: no escapes, no bidi reordering.
    with pytest.raises(ConfigError, match="control character"):
        Config(tokens=("ok", token))


# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt): characters that do not show.
DEFAULT_IGNORABLE = ((0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
                     (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
                     (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
                     (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF))
_IGNORABLE = frozenset(code for low, high in DEFAULT_IGNORABLE for code in range(low, high + 1))


def _shows_nothing(ch):
    """The rule, a character at a time: white space, a control, a surrogate, a format character, a
    default-ignorable that is not a mark (a variation selector is one), the braille blank, a noncharacter."""
    code, category = ord(ch), unicodedata.category(ch)
    ignorable = code in _IGNORABLE and category[0] != "M"
    noncharacter = 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE
    return ch.isspace() or category in ("Cc", "Cf", "Cs") or ignorable or noncharacter or ch == "\u2800"


def _refused_at(tokens):
    """The index of the first token the rule refuses, checked a character at a time. A joiner
    (U+200C, U+200D) is kept between two characters that are not joiners; a word may not open
    with a mark (category M)."""
    from tui_attention.core.config import MAX_TOKEN_CHARS

    joiners = "\u200c\u200d"
    for i, t in enumerate(tokens):
        if not t.strip() or len(t) > MAX_TOKEN_CHARS or unicodedata.category(t[0])[0] == "M":
            return i
        for k, ch in enumerate(t):
            if ch in joiners:
                if k in (0, len(t) - 1) or t[k - 1] in joiners or t[k + 1] in joiners:
                    return i
            elif _shows_nothing(ch):
                return i
    return None


# Characters near every edge of the rule: C0, DEL, C1, bidi controls, Unicode spaces, wide and
# combining characters, format characters, joiners, fillers, variation selectors, tags, a surrogate,
# a noncharacter, and plain letters.
EDGE_CHARACTERS = ("a", "Z", "ñ", "猫", "\u0301", " ", "\t", "\n", "\x1c", "\x1f", "\x20", "\x7e", "\x7f", "\x9f",
                   "\xa0", "\xa1", "\u2028", "\u3000", "\u200b", "\u200e", "\u202e", "\u2069", "\ufeff",
                   "\u200c", "\u200d", "\u2060", "\u00ad", "\u0600", "\u3164", "\u2800", "\ufe0f", "\u034f",
                   "\U000e0001", "\U000e0041", "\U000e0100", "\U000e0200", "\ud800", "\uffff", "\U0001f469")


@st.composite
def sentences(draw):
    """Words of letters, some with one odd character put in, sometimes an empty or a too-long word."""
    tokens = draw(st.lists(st.text(st.sampled_from("abñ猫\u0301"), min_size=1, max_size=5), min_size=1, max_size=5))
    for _ in range(draw(st.integers(0, 2))):
        i = draw(st.integers(0, len(tokens) - 1))
        k = draw(st.integers(0, len(tokens[i])))
        tokens[i] = tokens[i][:k] + draw(st.sampled_from(EDGE_CHARACTERS) | st.characters()) + tokens[i][k:]
    if draw(st.integers(0, 9)) == 0:
        tokens.insert(draw(st.integers(0, len(tokens))), draw(st.sampled_from(["", "x" * 64, "x" * 65])))
    return tokens


@settings(max_examples=300, deadline=None)
@given(sentences())
def test_tokens_are_refused_exactly_as_the_rule_says(tokens):
    # Config checks the whole sentence with one search; it must refuse what the per-character
    # rule refuses, name the same token, and accept everything else.
    bad = _refused_at(tokens)
    if bad is None:
        assert Config(tokens=tuple(tokens)).tokens == tuple(tokens)
    else:
        with pytest.raises(ConfigError, match=rf"^tokens\[{bad}\]"):
            Config(tokens=tuple(tokens))


def test_every_character_is_refused_or_kept_as_the_rule_says():
    # All 1 114 112 code points, inside a word and alone, 1 024 words to a sentence: Config
    # accepts a sentence at once when the rule refuses none of its words, else names the first
    # the rule refuses; and the check of one word refuses exactly the words the rule refuses.
    from tui_attention.core.config import _check_tokens, _token_problem

    wrong = []
    for start in range(0, 0x110000, 1024):
        chars = [chr(code) for code in range(start, min(start + 1024, 0x110000))]
        shows_nothing = list(map(_shows_nothing, chars))
        for words, expected in (
                (["a" + ch + "b" for ch in chars], [no and ch not in "\u200c\u200d" for ch, no in zip(chars, shows_nothing)]),
                (chars, [no or unicodedata.category(ch)[0] == "M" for ch, no in zip(chars, shows_nothing)])):
            if not any(expected):
                try:
                    _check_tokens(tuple(words))
                except ConfigError as exc:
                    wrong.append(f"from U+{start:04X}: {exc}")
                continue
            with pytest.raises(ConfigError, match=rf"^tokens\[{expected.index(True)}\]"):
                _check_tokens(tuple(words))
            wrong += [repr(w) for w, refused in zip(words, expected) if (_token_problem(w) is not None) != refused]
    assert not wrong, wrong[:20]


@pytest.mark.parametrize("token,char", [
    ("\u200b", "U+200B ZERO WIDTH SPACE"), ("a\u200bb", "U+200B ZERO WIDTH SPACE"), ("\u2060", "U+2060 WORD JOINER"),
    ("\U000e0001", "U+E0001 LANGUAGE TAG"), ("hi\U000e0068\U000e0069", "U+E0068 TAG LATIN SMALL LETTER H"),
    ("\U000e007f", "U+E007F CANCEL TAG"), ("\ufeff", "U+FEFF ZERO WIDTH NO-BREAK SPACE"), ("so\u00adft", "U+00AD SOFT HYPHEN"),
    ("\u3164", "U+3164 HANGUL FILLER"), ("\u2800", "U+2800 BRAILLE PATTERN BLANK"),
    ("\u0301", "U+0301 COMBINING ACUTE ACCENT"), ("\ufe0f", "U+FE0F VARIATION SELECTOR-16"),
    ("\u200d", "U+200D ZERO WIDTH JOINER"), ("a\u200d", "U+200D ZERO WIDTH JOINER"),
    ("a\u200c\u200cb", "U+200C ZERO WIDTH NON-JOINER"), ("ab\u202ecd", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ("x\u2066", "U+2066 LEFT-TO-RIGHT ISOLATE"), ("a\x1bb", "U+001B"),
])
def test_a_word_that_does_not_show_is_refused_naming_the_character(token, char):
    with pytest.raises(ConfigError, match=rf"^tokens\[1\]: .*{re.escape(char)}") as caught:
        Config(tokens=("ok", token))
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("token", ["e\u0301", "ñ", "\U0001f469\u200d\U0001f4bb", "\u2764\ufe0f\u200d\U0001f525",
                                   "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", "\u0915\u094d\u200d\u0937",
                                   "\u845b\U000e0100", "\U0001f44b\U0001f3fd"])
def test_a_visible_word_with_marks_joiners_or_selectors_is_kept(token):
    # An accent on a letter, an emoji sequence (👩‍💻, ❤️‍🔥, 👋🏽), a Persian ZWNJ, a Devanagari
    # ZWJ after a virama, an ideographic variation selector.
    assert Config(tokens=("ok", token)).tokens == ("ok", token)


@pytest.mark.parametrize("sentence", ["a \u200b b", "a\u2060 b", "a \U000e0041", "a \u202eb"])
def test_every_way_to_a_sentence_refuses_a_word_that_does_not_show(tmp_path, sentence):
    # --sentence on its own (and the tutor's own sentence form: build_config(None, overrides)),
    # --sentence on a scenario, and a scenario file's sentence and tokens.
    with pytest.raises(ConfigError, match=r"U\+[0-9A-F]{4}"):
        build_config(None, Overrides(sentence=sentence))
    with pytest.raises(ConfigError, match=r"--sentence does not fit this scenario: .*U\+[0-9A-F]{4}"):
        build_config(write(tmp_path, 'sentence = "a b"\n', "ok.toml"), Overrides(sentence=sentence))
    with pytest.raises(ConfigError, match=r"s\.toml: tokens\[\d\]: .*U\+[0-9A-F]{4}"):
        load_scenario(write(tmp_path, f"sentence = {sentence!r}\n".replace("'", '"')))
    with pytest.raises(ConfigError, match=r"t\.toml: tokens\[\d\]: .*U\+[0-9A-F]{4}"):
        load_scenario(write(tmp_path, "tokens = [" + ", ".join(
            '"' + w.encode("unicode_escape").decode().replace("\\x", "\\u00") + '"' for w in sentence.split()) + "]\n",
            "t.toml"))


def test_generated_flags_start_fresh_scenario():
    cfg = build_config(None, Overrides(seed=5))
    assert cfg.tokens == NOTEBOOK_TOKENS and cfg.seed == 5
    assert cfg.embeddings is None and cfg.positions_kind == "sinusoidal" and not cfg.weights
    default = build_config(None, Overrides(scale="sqrt_dk"))
    assert default.embeddings is not None and default.scale == "sqrt_dk"


def test_flag_that_breaks_an_explicit_matrix_names_it(tmp_path):
    path = write(tmp_path, dumps_scenario(build_config(None)))
    with pytest.raises(ConfigError, match="weights.w_q"):
        build_config(path, Overrides(d_k=2))
    with pytest.raises(ConfigError, match="embeddings.values"):
        build_config(path, Overrides(sentence="solo dos"))


@pytest.mark.parametrize("heads", [2, 4, 3])
def test_more_heads_keep_the_inputs_and_the_heads_there_are(heads):
    """H on the notebook compares like with like: same X, head 1 is the notebook's head."""
    one = compute(build_config(None))
    more = compute(build_config(None, Overrides(heads=heads)))
    assert more.config.heads == heads and np.array_equal(more.X, one.X)
    for name in ("W_q", "W_k", "W_v", "weights", "output"):
        assert np.array_equal(getattr(more.heads[0], name), getattr(one.heads[0], name))
    # the added heads are seeded draws at the scenario's weight scale, not copies of head 1
    assert not np.allclose(more.heads[1].W_q, one.heads[0].W_q)
    assert abs(np.std(more.heads[1].W_q) / one.config.weight_scale - 1) < 0.8
    four = build_config(None, Overrides(heads=4))
    # a head keeps its draw whatever the number of heads; back to one head is the notebook again
    assert np.array_equal(four.weights["w_k"][1], build_config(None, Overrides(heads=2)).weights["w_k"][1])
    assert four.with_heads(1).same_as(build_config(None))


def test_with_heads_seeds_a_w_o_that_no_longer_fits():
    two = build_config(None, Overrides(heads=2))
    explicit = two.replace(weights={**two.weights, "w_o": np.ones((2 * two.d_v, two.d_model))})
    assert "w_o" not in explicit.with_heads(4).weights
    with pytest.raises(ConfigError, match="heads"):
        explicit.with_heads(0)


def test_weight_scale_rescales_explicit_weights():
    base = build_config(None)
    big = build_config(None, Overrides(weight_scale=1.0))
    assert np.allclose(big.weights["w_q"], base.weights["w_q"] * 10)
    seeded = build_config(None, Overrides(seed=5))
    seeded_big = build_config(None, Overrides(seed=5, weight_scale=3.0))
    assert np.allclose(compute(seeded_big).heads[0].W_q, compute(seeded).heads[0].W_q * 30)


def test_save_and_load_round_trip(tmp_path):
    for cfg in (build_config(None), build_config(None, Overrides(sentence="a b a", heads=2, mask="causal"))):
        path = tmp_path / "out.toml"
        write_atomic(path, dumps_scenario(cfg))
        again = load_scenario(path)
        assert again.same_as(cfg)
        assert np.array_equal(compute(again).block.norm_2, compute(cfg).block.norm_2)
    assert [p.name for p in tmp_path.iterdir()] == ["out.toml"]


def test_same_word_same_vector_wherever_it_stands():
    t = compute(build_config(None, Overrides(sentence="la casa la")))
    assert np.array_equal(t.E[0], t.E[2]) and not np.array_equal(t.X[0], t.X[2])
