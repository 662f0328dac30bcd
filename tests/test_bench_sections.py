"""make bench rewrites only the sections it measured: every other section, hyphenated names included, is kept."""

from sim.bench import write


def test_existing_sections_keep_hyphenated_names(tmp_path, monkeypatch):
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# head\n\n<!-- section:fp_soak -->\nsoak table\n<!-- end:fp_soak -->\n\n"
                   "<!-- section:soc-model -->\nmodel table\n<!-- end:soc-model -->\n")
    monkeypatch.setattr(write, "OUT", out)
    assert write._existing_sections() == {"fp_soak": "soak table", "soc-model": "model table"}
    assert set(write._existing_sections()) <= set(write.SECTIONS)
