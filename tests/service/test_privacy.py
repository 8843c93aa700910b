import pytest

from service.privacy import mask_id, mask_name, mask_phone, mask_text


@pytest.mark.parametrize(("raw", "masked"), [
    ("13912345678", "139****5678"),
    ("139 1234 5678", "139****5678"),
    ("0571-88765432", "0571-****5432"),
    ("88765432", "****5432"),
    ("123", "****"),
    ("", ""),
])
def test_mask_phone(raw: str, masked: str) -> None:
    assert mask_phone(raw) == masked


def test_mask_text_hides_ids_and_phones_but_keeps_other_numbers() -> None:
    text = "王阿姨82岁，电话13912345678，身份证33010619450101002X，住3栋201"
    out = mask_text(text)
    assert "13912345678" not in out and "19450101" not in out
    assert "82岁" in out and "3栋201" in out and out.endswith("住3栋201")


def test_mask_name_and_id() -> None:
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_id("330106194501010021") == "330106********0021"
    assert mask_id("12345") == "*****"
