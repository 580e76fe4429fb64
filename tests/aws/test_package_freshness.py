"""deploy/package.sh keeps a built zip only while it is fresh (deploy/stage.py
package_is_fresh): `make deploy` then ships it as it is."""

import os
import time

from tests.aws.moto_stack import stage_module


def test_a_zip_built_before_a_source_file_was_removed_is_rebuilt(tmp_path, monkeypatch):
    stage = stage_module()
    monkeypatch.setattr(stage, "ROOT", tmp_path)
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "deploy.txt").write_text("django==5.2\n")
    (tmp_path / "rides").mkdir()
    (tmp_path / "rides" / "kept.py").write_text("KEPT = 1\n")
    removed = tmp_path / "rides" / "removed.py"
    removed.write_text("REMOVED = 1\n")
    settings = tmp_path / "build" / "zappa_settings.json"
    settings.parent.mkdir()
    settings.write_text("{}\n")
    zip_file = tmp_path / "build" / "wildrydes-dev.zip"
    zip_file.write_bytes(b"a zip holding rides/removed.py")
    built_at = time.time() + 3600  # newer than every source, as after a build
    os.utime(zip_file, (built_at, built_at))
    stage.record_package_settings(zip_file, settings)
    assert stage.package_is_fresh(zip_file, settings)

    removed.unlink()  # as a checkout that deletes a module (or a migration) does

    assert not stage.package_is_fresh(zip_file, settings)
