"""deploy/package.sh keeps a built zip only while it is fresh (deploy/stage.py
package_is_fresh): built from the same files, lock and settings, by content. `make deploy`
then ships it as it is; anything else rebuilds it."""

import os

import pytest

from tests.aws.moto_stack import stage_module


@pytest.fixture
def built(tmp_path, monkeypatch):
    """A checkout with a zip recorded as built from it: (stage module, zip, settings, root)."""
    stage = stage_module()
    monkeypatch.setattr(stage, "ROOT", tmp_path)
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "deploy.txt").write_text("django==5.2\n")
    (tmp_path / "rides").mkdir()
    (tmp_path / "rides" / "kept.py").write_text("KEPT = 1\n")
    (tmp_path / "rides" / "removed.py").write_text("REMOVED = 1\n")
    settings = tmp_path / "build" / "zappa_settings.json"
    settings.parent.mkdir()
    settings.write_text("{}\n")
    zip_file = tmp_path / "build" / "wildrydes-dev.zip"
    zip_file.write_bytes(b"a zip holding rides/removed.py")
    stage.record_package_inputs(zip_file, settings)
    assert stage.package_is_fresh(zip_file, settings)
    return stage, zip_file, settings, tmp_path


def test_a_zip_built_before_a_source_file_was_removed_is_rebuilt(built):
    stage, zip_file, settings, root = built
    (root / "rides" / "removed.py").unlink()  # as a checkout that deletes a module does
    assert not stage.package_is_fresh(zip_file, settings)


def test_a_zip_built_before_a_source_file_changed_is_rebuilt(built):
    stage, zip_file, settings, root = built
    (root / "rides" / "kept.py").write_text("KEPT = 2\n")
    assert not stage.package_is_fresh(zip_file, settings)


def test_a_zip_built_with_other_settings_or_another_lock_is_rebuilt(built):
    stage, zip_file, settings, root = built
    settings.write_text('{"dev": {"memory_size": 512}}\n')
    assert not stage.package_is_fresh(zip_file, settings)
    settings.write_text("{}\n")
    (root / "requirements" / "deploy.txt").write_text("django==5.2.1\n")
    assert not stage.package_is_fresh(zip_file, settings)


def test_a_checkout_that_only_touches_files_keeps_the_zip(built):
    stage, zip_file, settings, root = built
    later = zip_file.stat().st_mtime + 3600
    os.utime(root / "rides" / "kept.py", (later, later))  # newer than the zip, same content
    assert stage.package_is_fresh(zip_file, settings)


def test_a_build_that_failed_leaves_no_fresh_zip(built):
    stage, zip_file, settings, _ = built
    stage.forget_package_inputs(zip_file)  # package.sh, before zappa package runs
    assert not stage.package_is_fresh(zip_file, settings)
