"""Our py-libp2p patches against the installed py-libp2p (the check a node makes at start)."""

from computemesh.node.doctor.finding import Finding, fail, ok
from computemesh.p2p import host as _host  # noqa: F401  (importing it declares every patch)
from computemesh.p2p import patch_registry

CHECK = "libp2p patches"


def check_patches() -> Finding:
    checked = patch_registry.check(patch_registry.declared())
    drifted = [c for c in checked if c.status is not patch_registry.Status.MATCHES]
    if drifted:
        described = "; ".join(f"{c.patch} ({c.target.name} {c.status.value})" for c in drifted)
        return fail(
            CHECK,
            f"{len(drifted)} target(s) differ from {patch_registry.WRITTEN_AGAINST}: {described}",
            f"pip install '{patch_registry.WRITTEN_AGAINST}'",
        )
    patches = {c.patch for c in checked}
    return ok(
        CHECK,
        f"{len(patches)} patches, {len(checked)} targets match {patch_registry.WRITTEN_AGAINST}",
    )
