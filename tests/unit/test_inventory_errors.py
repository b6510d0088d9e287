"""An inventory error says what an inventory is, so the operator can write one at 3 a.m."""

from pathlib import Path

import pytest

from pverunbook.inventory import InventoryError, load_cluster


@pytest.mark.parametrize("content", [None, 'nodes = 3\n', '[cluster]\nname = "x"\n'])
def test_errors_name_the_file_and_show_the_format(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "inv.toml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InventoryError) as exc:
        load_cluster(path)
    text = str(exc.value)
    assert str(path) in text and "[[nodes]]" in text and "runbooks/clusters/nyc.toml" in text
