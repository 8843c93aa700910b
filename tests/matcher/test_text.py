import pickle

import pytest

from matcher.lexicon import default_lexicon
from matcher.text import ChineseTokenizer, normalize_text


def test_normalize_text_full_width_and_punctuation() -> None:
    assert normalize_text("ＡＢＣ１２３，送餐！！\t上门") == "abc123 送餐 上门"


def test_traditional_script_reads_like_simplified() -> None:
    lex = default_lexicon()
    trad, simp = "鄰居天天吵架，請社區調解；獨居老人輪椅壞了", "邻居天天吵架 请社区调解 独居老人轮椅坏了"
    assert normalize_text(trad) == simp
    assert lex.concepts(normalize_text(trad)) == lex.concepts(simp)
    assert ChineseTokenizer().tokenize(trad) == ChineseTokenizer().tokenize(simp)


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("我爸中风了", "康复"), ("偏瘫在床", "康复"),
        ("想找人送饭", "助餐"), ("老人吃饭难", "助餐"), ("做反太吃力", "助餐"),
        ("两口子吵架", "矛盾调解"), ("跟邻居闹矛盾", "矛盾调解"), ("请社区调节一下", "矛盾调解"),
        ("轮椅坏了", "辅具"), ("拖欠工资", "法律援助"), ("睡不着 想不开", "心理支持"),
    ],
)
def test_colloquial_words_map_to_concepts(text: str, concept: str) -> None:
    assert concept in default_lexicon().concepts(normalize_text(text))


def test_longest_surface_wins_over_its_parts() -> None:
    lex = default_lexicon()
    assert "困难群众" not in lex.groups("走路困难")
    assert "新市民" not in lex.groups("爸妈在外打工")
    assert lex.groups("困难户") == {"困难群众": ["困难户"]}


def test_age_cues_imply_groups() -> None:
    lex = default_lexicon()
    assert "老年人" in lex.groups("今年八十多岁")
    assert "老年人" in lex.groups("82岁")
    assert "儿童" in lex.groups("孩子8岁")


def test_tokenizer_is_picklable_and_lazy() -> None:
    tok = ChineseTokenizer()
    first = tok.tokenize("独居老人需要助餐")
    clone = pickle.loads(pickle.dumps(tok))
    assert clone._jieba is None
    assert clone.tokenize("独居老人需要助餐") == first
    assert "#助餐" in first and "需要" not in first  # stopword removed


def test_tokenizer_keeps_domain_words_whole() -> None:
    toks = ChineseTokenizer().words(normalize_text("四点半课堂适老化改造"))
    assert "四点半课堂" in toks and "适老化改造" in toks


def test_homophone_typos_found_only_when_fuzzy() -> None:
    lex = default_lexicon()
    assert "陪诊" not in lex.concepts("明天复珍")
    assert lex.concepts("明天复珍", fuzzy=True) == {"陪诊": ["复珍"]}
    # two differing characters are not a typo of the surface
    assert "陪诊" not in lex.concepts("明天付真", fuzzy=True)
