"""What the shipped lessons say, checked against what the learner sees.

* a page does not print the answer of its own question (the panes hide it; the text must too);
* a matrix page shows what it talks about: every tensor its text and question refer to is a
  matrix of the page's step (references inside worked answers, explanations and hints are
  read after asking, and may reach further);
* a page is on the word its question asks about, and a matrix page on a row its text names;
* worked answers and hints re-add: "a + b = c", "(a)(b) + (c)(d) = e" and "a / b = c" hold
  to half a unit of the result's last decimal, from the numbers as shown;
* a wrong answer's feedback explains the misconception without giving the right answer, and
  the right choice does not stand out (no longer than the others, explained only if they are);
* no earlier page of a lesson prints what a later question asks;
* the sentences an ML review corrected stay corrected.
"""

from __future__ import annotations

import ast
import operator
import re

import pytest

import numpy as np

from tui_attention.core.tensors import tensor
from tui_attention.lessons import check_answer, evaluate, load_lessons, render_page, render_text
from tui_attention.lessons.giveaways import AFTER_ATTENTION, concealed
from tui_attention.lessons.refs import TENSOR_NAMES, _placeholders, cells_of, parse_ref
from tui_attention.steps import matrix_steps
from tui_attention.steps.conceal import Concealed
from tui_attention.steps.notation import MAX_DECIMALS, MIN_DECIMALS

LESSONS = load_lessons()
PAGES = [(lesson, page) for lesson in LESSONS for page in lesson.pages]
QUESTION_PAGES = [(lesson, page) for lesson, page in PAGES if page.question]


def page_id(x):
    return getattr(x, "id", None) or f"p{x.number}"


# --------------------------------------------------------------------------- reading references


def tensor_refs(text: str) -> list:
    """Every tensor node in the {{...}} references of `text`."""
    out = []
    for expr, _ in _placeholders(text):
        out += _tensor_nodes(parse_ref(expr))
    return out


def _tensor_nodes(node) -> list:
    found = [node] if node.op == "tensor" else []
    for child in (*node.args, *(i for i in (node.index or ()) if not isinstance(i, str))):
        found += _tensor_nodes(child)
    return found


def named_row(node) -> int | None:
    """The 1-based row a tensor reference names, when its rows are words and the row is a number."""
    if TENSOR_NAMES[node.value].rows != "token" or not node.index:
        return None
    first = node.index[0]
    return first.value if not isinstance(first, str) and first.op == "num" else None


def before_answering(page) -> list[str]:
    """The texts on screen while the question is open: title, page text, prompt, literal choices."""
    texts = [page.title, page.text]
    q = page.question
    if q is not None:
        texts += [q.prompt, *(c.text for c in q.choices)]
    return texts


def step_matrices(page) -> set[str]:
    """The registry keys of the matrices the page's matrix step reads and writes."""
    trace = page.trace()
    steps = matrix_steps(trace, page.head_index, word=page.word_index or 0)
    step = next(s for s in steps if s.kind == page.step)
    return {c.matrix for c in step.reads + step.writes}


# --------------------------------------------------------------------------- no page prints its answer


@pytest.mark.parametrize("lesson,page", QUESTION_PAGES, ids=page_id)
def test_a_page_does_not_print_its_own_answer(lesson, page):
    """The panes hide an open question's answer; the page's title, text and prompt must not print it."""
    trace = page.trace()
    shown = render_page(page, trace)
    text = "\n".join((shown.title, shown.text, shown.question.prompt))
    q = page.question
    hidden = concealed(q, trace, page.head_index)
    if q.kind == "numeric" or q.token_choices:
        assert hidden.text(text) == text, f"{q.id}: the page prints a hidden value:\n{text}"
    else:
        right = next(c for c, choice in zip(shown.question.choices, q.choices) if choice.correct)
        wrong = " ".join(c for c, choice in zip(shown.question.choices, q.choices) if not choice.correct)
        for number in re.findall(r"[+-]?\d+\.\d+", right):
            assert number in wrong or number not in text, f"{q.id}: the page prints {number}, the right choice"
        assert right.lower() not in text.lower(), f"{q.id}: the page states the right choice: {right!r}"


@pytest.mark.parametrize("lesson,page", [(l, p) for l, p in QUESTION_PAGES if p.question.hides], ids=page_id)
def test_every_hides_reference_names_cells(lesson, page):
    trace = page.trace()
    for ref in page.question.hides:
        assert cells_of(ref, trace, page.head_index), f"{page.question.id}: hides {ref!r} names no cell"


def test_head_2_scores_stay_visible_while_its_weights_are_hidden():
    """Lesson 10: which word head 2 attends to most is read from its scores; the weights wait."""
    lesson = next(l for l in LESSONS if "heads" in l.title.lower())
    page = next(p for p in lesson.pages if p.question and p.question.token_choices and p.head == 2)
    hidden = concealed(page.question, page.trace(), page.head_index)
    # The weights and what follows from them (z = A V, and the block's rows of that word, which
    # are no head's); none of the scores the question is read from.
    assert {key for key, *_ in hidden.cells} == {"weights", "output", *AFTER_ATTENTION}
    assert {h for key, h, *_ in hidden.cells if key not in AFTER_ATTENTION} == {1}


# --------------------------------------------------------------------------- pages show what they talk about


@pytest.mark.parametrize("lesson,page", [(l, p) for l, p in PAGES if p.view == "matrix"], ids=page_id)
def test_a_matrix_page_shows_every_matrix_it_refers_to(lesson, page):
    shown = step_matrices(page)
    texts = before_answering(page)
    q = page.question
    if q is not None and q.answer:
        texts.append("{{" + q.answer + "}}")
    for text in texts:
        for node in tensor_refs(text):
            key = TENSOR_NAMES[node.value].key
            assert key in shown, (f"{lesson.source} page {page.number} ({page.step}) refers to {node.value} "
                                  f"({key}), not a matrix of its step: {sorted(shown)}")


@pytest.mark.parametrize("lesson,page", [(l, p) for l, p in PAGES if p.view == "matrix"], ids=page_id)
def test_a_matrix_page_is_on_a_row_its_text_names(lesson, page):
    """At 80x24 a grid shows the rows around the page's word: a row the page names must be one of them."""
    rows = {row for text in before_answering(page) for node in tensor_refs(text)
            if (row := named_row(node)) is not None}
    q = page.question
    if q is not None and q.kind == "numeric":
        answer_rows = {named_row(node) for node in tensor_refs("{{" + q.answer + "}}")} - {None}
        if len(answer_rows) == 1:
            assert {page.word} == answer_rows, f"{lesson.source} page {page.number}: asks about row {answer_rows}"
    if rows:
        assert page.word in rows, f"{lesson.source} page {page.number} names rows {sorted(rows)}, shows word {page.word}"


def asked_word(page) -> int | None:
    """The word a question asks about: the row of its answer (or of what its argmax reads), else
    the first word(k) its prompt names."""
    q = page.question
    if q.answer:
        rows = {named_row(node) for node in tensor_refs("{{" + q.answer + "}}")} - {None}
        if rows:
            (row,) = rows
            return row
    m = re.search(r"\{\{\s*word\(\s*(\d+)\s*\)\s*\}\}", q.prompt)
    return int(m.group(1)) if m else None


@pytest.mark.parametrize("lesson,page", [(l, p) for l, p in QUESTION_PAGES if p.view == "walkthrough"], ids=page_id)
def test_a_walkthrough_question_is_on_the_word_it_asks_about(lesson, page):
    word = asked_word(page)
    if word is not None:
        assert page.word == word, f"{page.question.id}: asks about word {word}, the panes show word {page.word}"


def test_the_scores_question_of_lesson_4_is_on_its_word():
    lesson = next(l for l in LESSONS if "dot product" in l.title.lower())
    page = next(p for p in lesson.pages if p.question and p.question.token_choices)
    assert page.question.answer == "argmax(S[1])" and page.word == 1


# --------------------------------------------------------------------------- worked answers re-add

NUMBER = r"[+\-−]?\d+(?:\.\d+)?"
ARITHMETIC = re.compile(r"^[\d.\s+\-−*/()]+$")


def _value(node) -> float:
    if isinstance(node, ast.Expression):
        return _value(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        value = _value(node.operand)
        return value if isinstance(node.op, ast.UAdd) else -value
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
        a, b = _value(node.left), _value(node.right)
        return {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
                ast.Div: operator.truediv}[type(node.op)](a, b)
    raise ValueError(ast.dump(node))


def arithmetic(expr: str) -> float:
    """The value of "a + (b)", "(a)(b) + (c)(d)", "a / (b + c)" or "sum of [a b c]" as written."""
    listed = re.fullmatch(r"sum of \[([^\]]*)\]", expr)
    if listed:
        expr = " + ".join(f"({x})" for x in listed.group(1).split())
    expr = re.sub(r"\)\s*\(", ")*(", expr.replace("−", "-"))
    return _value(ast.parse(expr, mode="eval"))


def equations(text: str) -> list[tuple[str, str, str]]:
    """(line, left side, result) of every "<numbers and operators> = <number>" in `text`; the left
    side runs from the previous "=", ":" or ";" (or the line's start), so a list of products
    "(a)(b) = c; (d)(e) = f" is read one by one. Lines saying "rounded" are left out."""
    out = []
    for line in text.splitlines():
        if "rounded" in line.lower():
            continue
        parts = re.split(r"([=:;])", line)
        for k in range(0, len(parts) - 2, 2):
            left, sep, right = parts[k].strip(), parts[k + 1], parts[k + 2]
            result = re.match(r"\s*(" + NUMBER + ")", right)
            if sep != "=" or result is None:
                continue
            numbers = re.findall(r"\d+(?:\.\d+)?", left)
            if re.fullmatch(r"sum of \[[^\]]*\]", left) or (
                    ARITHMETIC.match(left) and len(numbers) >= 2 and re.search(r"\d\)?\s*[+\-−*/(]", left)):
                out.append((line, left, result.group(1)))
    return out


def rendered_texts(page, trace, decimals: int) -> list[str]:
    shown = render_page(page, trace, decimals)
    texts = [shown.title, shown.text]
    q = page.question
    if q is not None:
        r = lambda s: render_text(s, trace, decimals)  # noqa: E731
        texts += [shown.question.prompt, shown.question.worked, *shown.question.hints, *shown.question.choices,
                  r(q.explain), *(r(m.why) for m in q.mistakes), *(r(c.why) for c in q.choices)]
        if q.token_choices:
            texts += [render_text(q.why, trace, decimals, choice=c) for c in range(1, trace.n + 1)]
    return texts


def test_the_equation_reader_finds_what_the_lessons_write():
    found = equations("x₁[1] = e₁[1] + p₁[1] = +0.6670 + (+0.3000) = +0.9670.\n"
                      "q = (+0.5)(+0.2) + (-0.1)(+1.0) = +0.0000; α = exp(+0.1) / +2.0 = +0.5 / +2.0 = +0.25\n"
                      "z = sum of [-0.05 +0.02] = -0.03 and 5 × 4 = 20\n"
                      "The products: (+0.9670)(+0.0442) = +0.0427; (-0.8742)(-0.0939) = +0.0821.\n"
                      "from rounded values: +1.0 + (+1.0) = +3.0")
    assert [(left, result) for _, left, result in found] == [
        ("+0.6670 + (+0.3000)", "+0.9670"), ("(+0.5)(+0.2) + (-0.1)(+1.0)", "+0.0000"),
        ("+0.5 / +2.0", "+0.25"), ("sum of [-0.05 +0.02]", "-0.03"),
        ("(+0.9670)(+0.0442)", "+0.0427"), ("(-0.8742)(-0.0939)", "+0.0821")]
    assert arithmetic("(+0.5)(+0.2) + (-0.1)(+1.0)") == pytest.approx(0.0)
    assert arithmetic("(( +1.0) − (+0.5)) / +0.25") == pytest.approx(2.0)


@pytest.mark.parametrize("lesson,page", QUESTION_PAGES, ids=page_id)
def test_worked_answers_and_hints_add_up_from_the_numbers_they_show(lesson, page):
    trace = page.trace()
    problems = []
    for decimals in range(MIN_DECIMALS, MAX_DECIMALS + 1):  # the learner may change the decimals
        for text in rendered_texts(page, trace, decimals):
            for line, left, result in equations(text):
                places = len(result.split(".")[1]) if "." in result else 0
                try:
                    got = arithmetic(left)
                except ZeroDivisionError:  # a divisor shown as 0.00
                    got = float("nan")
                if not abs(got - float(result.replace("−", "-"))) <= 0.5 * 10 ** -places + 1e-12:
                    problems.append(f"at {decimals} decimals: {left} = {got:.{places + 2}f}, shown as {result}")
    assert not problems, f"{page.question.id}:\n" + "\n".join(problems)


# --------------------------------------------------------------------------- a second attempt stays a question

LITERAL_PAGES = [(l, p) for l, p in QUESTION_PAGES if p.question.kind == "choice" and not p.question.token_choices]
DECIMAL_NUMBER = re.compile(r"[+-]?\d+\.\d+")


def literal_choices(page, trace) -> tuple[str, list[tuple[str, str]]]:
    """The right choice as shown, and every wrong one with its explanation, as shown."""
    shown = render_page(page, trace).question
    q = page.question
    right = next(c for c, choice in zip(shown.choices, q.choices) if choice.correct)
    wrong = [(c, render_text(choice.why, trace)) for c, choice in zip(shown.choices, q.choices) if not choice.correct]
    return right, wrong


def names_word(text: str, word: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text) is not None


@pytest.mark.parametrize("lesson,page", QUESTION_PAGES, ids=page_id)
def test_wrong_answer_feedback_does_not_give_the_right_answer(lesson, page):
    """After a wrong answer the learner tries again: the explanation names the misconception,
    never the right choice, the right word or the right number."""
    q, trace = page.question, page.trace()
    if q.kind == "numeric":
        answer = Concealed(values=(float(evaluate(q.answer, trace)),))
        for m in q.mistakes:
            why = render_text(m.why, trace)
            assert answer.text(why) == why, f"{q.id}: the feedback for {m.answer} prints the answer: {why}"
    elif q.token_choices:
        right = int(evaluate(q.answer, trace))
        columns = hidden_by_column(page)
        for choice in range(1, trace.n + 1):
            if trace.tokens[choice - 1] == trace.tokens[right - 1]:
                continue
            why = render_text(q.why, trace, choice=choice)
            assert not names_word(why, trace.tokens[right - 1]), f"{q.id}: choosing {choice} names the answer: {why}"
            # the chosen word's own score may be printed, no other hidden one (unless it prints the same)
            own = columns.get(choice, [])
            others = Concealed(values=tuple(v for col, vs in columns.items() if col != choice for v in vs
                                            if not any(abs(v - o) < 5e-5 for o in own)))
            assert others.text(why) == why, f"{q.id}: choosing {choice} prints another word's hidden value: {why}"
    else:
        right, wrong = literal_choices(page, trace)
        others = " ".join(c for c, _ in wrong)
        for choice, why in wrong:
            assert right.lower() not in why.lower(), f"{q.id}: the feedback for {choice!r} names {right!r}"
            for number in DECIMAL_NUMBER.findall(right):
                assert number in others or number not in why, f"{q.id}: the feedback for {choice!r} prints {number}"


def hidden_by_column(page) -> dict[int, list[float]]:
    """A token choice hides rows of scores or weights: their values, by 1-based column (word)."""
    trace = page.trace()
    out: dict[int, list[float]] = {}
    for key, h, r, c in concealed(page.question, trace, page.head_index).cells:
        out.setdefault(c + 1, []).append(float(tensor(key).of(trace, h)[r, c]))
    return out


@pytest.mark.parametrize("lesson,page", LITERAL_PAGES, ids=page_id)
def test_the_right_choice_does_not_stand_out(lesson, page):
    """Options parallel in form and length: the right one is not the longest by a margin, and it
    carries an explanation (": ..." or "because ...") as most of the others do, or as most do not."""
    right, wrong = literal_choices(page, page.trace())
    choices = [right] + [c for c, _ in wrong]
    assert len(right) <= max(len(c) for c, _ in wrong) + 4, f"{page.question.id}: {right!r} is the longest"

    def explained(choice: str) -> bool:
        return ": " in choice or " because " in choice

    alike = sum(explained(c) == explained(right) for c, _ in wrong)
    assert 2 * alike >= len(wrong), f"{page.question.id}: the right choice alone is (or is not) explained: {choices}"


@pytest.mark.parametrize("lesson,page", [(l, p) for l, p in QUESTION_PAGES if p.question.kind == "choice"],
                         ids=page_id)
def test_the_explanation_after_right_reads_on(lesson, page):
    """The screen says "Right." before the explanation: it must not go on with "No." or "Yes."."""
    text = page.question.explain or page.question.worked
    assert not re.match(r"\s*(no|yes)\b", text, re.I), f"{page.question.id}: 'Right. {text[:20]}...'"


def giveaways(page) -> tuple[Concealed, list[str]]:
    """What would answer `page`'s question if printed earlier: numbers (a numeric answer, the right
    word's hidden score or weight) and texts (the right literal choice and its own numbers)."""
    q, trace = page.question, page.trace()
    if q.kind == "numeric":
        return Concealed(values=(float(evaluate(q.answer, trace)),)), []
    if q.token_choices:
        right = int(evaluate(q.answer, trace))
        return Concealed(values=tuple(hidden_by_column(page)[right])), []
    right, wrong = literal_choices(page, trace)
    others = " ".join(c for c, _ in wrong)
    return Concealed(), [right] + [n for n in DECIMAL_NUMBER.findall(right) if n not in others]


def seen_after(page) -> str:
    """What a page shows once done with: its title and text, and its question's worked answer."""
    trace = page.trace()
    shown = render_page(page, trace)
    texts = [shown.title, shown.text]
    if page.question is not None:
        texts += [shown.question.worked, render_text(page.question.explain, trace)]
    return "\n".join(texts)


@pytest.mark.parametrize("lesson,page", [(l, p) for l, p in QUESTION_PAGES if p.number > 1], ids=page_id)
def test_no_earlier_page_prints_what_a_question_asks(lesson, page):
    """A question is asked before any page shows its answer (lesson 1 p3, 2 p2, 4 p2, 5 p2 and
    6 p2 used to ask what the page before printed). The lesson's title and summary count too."""
    numbers, texts = giveaways(page)
    earlier = "\n".join([lesson.title, lesson.summary] + [seen_after(p) for p in lesson.pages[: page.number - 1]])
    assert numbers.text(earlier) == earlier, f"{page.question.id}: an earlier page prints its answer"
    for text in texts:
        assert text.lower() not in earlier.lower(), f"{page.question.id}: an earlier page says {text!r}"


def test_the_divisor_is_asked_before_anything_shows_it():
    """Lesson 8 asks by which number the scores must be divided to bring their variance back to 1:
    a number to work out (√3 = 1.73 here), not a name to pick, since the scale step's own text and
    the help name the ÷√d_k switch. Until then scaling stays off (the status line and the score
    columns would show the divided scores), and neither the lesson's title nor any earlier lesson
    names √d_k."""
    index = next(i for i, l in enumerate(LESSONS) if "scaling" in l.title.lower())
    scaling = LESSONS[index]
    page = next(p for p in scaling.pages if p.question and p.question.answer == "sqrt(d_k)")
    assert page.question.kind == "numeric" and page.question.decimals == 2
    assert all(p.config().scale == "none" for p in scaling.pages[: page.number])
    assert "√" not in scaling.title + scaling.summary
    for lesson in LESSONS[:index]:
        assert "√d_k" not in lesson_text_of(lesson), f"{lesson.source} names √d_k before lesson 8"
    variance = scaling.pages[0].question
    assert variance.kind == "numeric" and evaluate(variance.answer, scaling.pages[0].trace()) == scaling.config().d_k


def test_common_mistakes_get_their_own_explanation():
    """exp(s₁₁ − max) not divided by the sum (lesson 5), and s₁₂ multiplied by √d_k (lesson 8)."""
    softmax = next(l for l in LESSONS if l.title.lower() == "softmax")
    page = next(p for p in softmax.pages if p.question and p.question.answer == "A[1,1]")
    trace = page.trace()
    scores = trace.heads[0].scores[0]
    verdict = check_answer(page.question, trace, f"{np.exp(scores[0] - scores.max()):.3f}")
    assert not verdict.correct and "divided by the sum" in verdict.explanation
    scaling = next(l for l in LESSONS if "scaling" in l.title.lower())
    page = next(p for p in scaling.pages if p.question and p.question.answer == "scaled[1,2]")
    trace = page.trace()
    typed = trace.heads[0].scores[0, 1] * np.sqrt(trace.config.d_k)
    verdict = check_answer(page.question, trace, f"{typed:.2f}")
    assert not verdict.correct and "multiplied by √d_k" in verdict.explanation


def test_lesson_10_keeps_the_inputs_and_head_1_of_the_earlier_lessons():
    """More heads add seeded heads; X = E + P and head 1's W_q, W_k, W_v stay the notebook's."""
    heads = next(l for l in LESSONS if "heads" in l.title.lower())
    notebook = LESSONS[0].pages[0].trace()
    first = heads.pages[0]
    trace = first.trace()
    assert trace.config.heads == 2
    np.testing.assert_array_equal(trace.X, notebook.X)
    for name in ("W_q", "W_k", "W_v"):
        np.testing.assert_array_equal(getattr(trace.heads[0], name), getattr(notebook.heads[0], name))
        assert not np.allclose(getattr(trace.heads[1], name), getattr(notebook.heads[0], name))
    text = " ".join(first.text.split())
    assert "Head 1 is the single head of the earlier lessons" in text and "same inputs" in text
    assert "fresh" not in lesson_text("heads")


def lesson_text_of(lesson) -> str:
    parts = [lesson.title, lesson.summary]
    for page in lesson.pages:
        parts += [page.title, page.text]
        q = page.question
        if q is not None:
            parts += [q.prompt, q.worked, q.explain, q.why, *q.hints, *(c.text + " " + c.why for c in q.choices),
                      *(m.why for m in q.mistakes)]
    return " ".join(" ".join(parts).split())


# --------------------------------------------------------------------------- reviewed sentences


def lesson_text(word: str) -> str:
    lesson = next(l for l in LESSONS if word in l.title.lower())
    parts = []
    for page in lesson.pages:
        parts.append(page.text)
        q = page.question
        if q is not None:
            parts += [q.prompt, q.worked, q.explain, *q.hints, *(c.text + " " + c.why for c in q.choices),
                      *(m.why for m in q.mistakes)]
    return " ".join(" ".join(parts).split())


def test_the_notebook_printouts_from_an_earlier_run_are_named():
    assert "earlier run" in lesson_text("token") and "In[13]" in lesson_text("token")
    assert "In[24]" in lesson_text("softmax") and "earlier run" in lesson_text("softmax")
    # Not "unseeded": In[13], [14], [17] and [18] come out again with the notebook's own
    # commented-out seed, np.random.seed(23), and its embedding cell run twice.
    assert "unseeded" not in lesson_text("token") + lesson_text("softmax")


def test_the_reviewed_sentences_stay_exact():
    scaling = lesson_text("scaling")
    assert "stall" not in scaling and "extremely small gradients" in scaling
    assert "mean 0 and variance 1" in scaling
    assert "one word at a time" not in lesson_text("causal")
    assert "leftward information flow" in lesson_text("causal")
    norm = lesson_text("feed-forward")
    assert "variance 1" not in norm and "γ = 1, β = 0" in norm and "var/(var + ε)" in norm
    assert "n − 1" not in norm and "d_model − 1" in norm
    assert "cosine" in lesson_text("dot product")
    assert "d_k = d_model = 512" in lesson_text("heads")
    # the panes hold the step before, or stack what g shows: the text says what is really there
    invitation = re.search(r"g for [^.]*", lesson_text("heads")).group(0)
    assert "one above the other" in invitation and "side by side" not in invitation
    assert "Q and K are on the right" not in lesson_text("matri")
    assert "The panes now show it" not in lesson_text("quer")
    assert "Lesson 10 uses" not in lesson_text("position")  # lesson 10 keeps the notebook's positions



def test_what_lesson_12_says_of_adam_late_in_training_is_what_training_does():
    """Late in training Adam's steps shrink far below lr (the mean of g² still holds the early,
    large gradients); lesson 12 once said they stay near lr. Measured here on the reverse task."""
    from tui_attention.core import build_config, learning

    setup = learning.make_setup(build_config(None), "reverse")
    before, after = learning.train(setup, 200).params, learning.train(setup, 201).params
    largest = max(float(np.abs(after[k] - before[k]).max()) for k in before) / setup.lr
    assert largest < 0.05  # measured 0.008
    text = lesson_text("learns")
    assert "shrink far below lr" in text
    assert "near lr" not in text and "by about lr" not in text
