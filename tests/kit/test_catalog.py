"""The catalog: kata.toml validation names the file and the field."""

from pathlib import Path

import pytest

from kata.catalog import Catalog, KitError, load_spec


def test_the_real_kit_catalog_loads() -> None:
    katas = Catalog(Path(__file__).resolve().parents[2]).katas
    assert [(k.spec.phase, k.id) for k in katas] == sorted((k.spec.phase, k.id) for k in katas)
    assert all(k.spec.hints for k in katas)


def test_katas_come_in_curriculum_order_by_phase_then_id(minikit: Path) -> None:
    import shutil

    later = minikit / "exercises" / "15-echo"
    shutil.copytree(minikit / "exercises" / "01-echo", later)
    toml = later / "kata.toml"
    toml.write_text(toml.read_text().replace('id = "01"', 'id = "15"').replace("phase = 2", "phase = 3"))
    last = minikit / "exercises" / "02-count" / "kata.toml"
    last.write_text(last.read_text().replace("phase = 3", "phase = 4"))
    assert [k.id for k in Catalog(minikit).katas] == ["01", "15", "02"]


def test_missing_field_names_file_and_field(minikit: Path) -> None:
    toml = minikit / "exercises" / "01-echo" / "kata.toml"
    toml.write_text(toml.read_text().replace('phase = 2\n', ''))
    with pytest.raises(KitError, match=r"01-echo/kata.toml: field 'phase': Field required"):
        load_spec(toml)


def test_bad_value_names_the_field(minikit: Path) -> None:
    toml = minikit / "exercises" / "01-echo" / "kata.toml"
    toml.write_text(toml.read_text().replace('phase = 2', 'phase = 7'))
    with pytest.raises(KitError, match=r"field 'phase': Input should be less than or equal to 4"):
        load_spec(toml)


def test_unknown_field_is_refused(minikit: Path) -> None:
    toml = minikit / "exercises" / "01-echo" / "kata.toml"
    toml.write_text('points = 3\n' + toml.read_text())
    with pytest.raises(KitError, match=r"field 'points': Extra inputs are not permitted"):
        load_spec(toml)


def test_invalid_toml_and_missing_file(minikit: Path) -> None:
    toml = minikit / "exercises" / "01-echo" / "kata.toml"
    toml.write_text("id = ")
    with pytest.raises(KitError, match="not valid TOML"):
        load_spec(toml)
    toml.unlink()
    with pytest.raises(KitError, match="missing"):
        load_spec(toml)


def test_bad_record_pattern_and_folder_mismatch(minikit: Path) -> None:
    toml = minikit / "exercises" / "01-echo" / "kata.toml"
    toml.write_text(toml.read_text().replace('"REC-\\\\d+"', '"REC-("'))
    with pytest.raises(KitError, match=r"field 'replay.record_pattern'"):
        load_spec(toml)
    toml.write_text(toml.read_text().replace('"REC-("', '"x"').replace('slug = "echo"', 'slug = "other"'))
    with pytest.raises(KitError, match="folder is '01-echo'"):
        load_spec(toml)


def test_ids_are_found_in_several_spellings(minikit: Path) -> None:
    catalog = Catalog(minikit)
    assert catalog.get("1").id == catalog.get("01-echo").id == "01"
    with pytest.raises(KitError, match="unknown kata '9'"):
        catalog.get("9")


def test_cli_exits_2_on_kit_errors(minikit: Path, kata_cli) -> None:
    code, out = kata_cli("--root", minikit, "grade", "99")
    assert code == 2 and "unknown kata '99'" in out
    toml = minikit / "exercises" / "02-count" / "kata.toml"
    toml.write_text(toml.read_text().replace('title = "Count words"', 'title = 5'))
    code, out = kata_cli("--root", minikit, "list")
    assert code == 2 and "02-count/kata.toml: field 'title'" in out
