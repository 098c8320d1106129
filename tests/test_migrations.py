"""The Alembic migrations form one linear chain, so ``upgrade head`` has exactly one target."""

from alembic.config import Config
from alembic.script import ScriptDirectory

from sanarip.db import MIGRATIONS


def test_migrations_form_one_linear_chain():
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    scripts = ScriptDirectory.from_config(cfg)
    heads = scripts.get_heads()
    assert len(heads) == 1, f"several heads {heads}: two branches each added a migration; rebase one onto the other"
    chain, rev = [], scripts.get_revision(heads[0])
    while rev is not None:  # head back to the root, one parent at a time
        assert not isinstance(rev.down_revision, tuple | list), f"{rev.revision} merges {rev.down_revision}"
        chain.append(rev.revision)
        rev = scripts.get_revision(rev.down_revision) if rev.down_revision else None
    assert sorted(chain) == sorted(r.revision for r in scripts.walk_revisions())  # every migration is on it
