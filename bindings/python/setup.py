"""Builds libredis_sentinel with cargo and bundles it inside the package, so that
`pip install bindings/python` (or a wheel from `pip wheel`) works with no environment variable.
Metadata lives in pyproject.toml."""

import os
import shutil
import subprocess
import sys

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
LIB = "libredis_sentinel.dylib" if sys.platform == "darwin" else "libredis_sentinel.so"


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        if os.environ.get("REDIS_SENTINEL_LIB"):
            library = os.environ["REDIS_SENTINEL_LIB"]
        elif os.path.exists(os.path.join(ROOT, "Cargo.toml")):
            subprocess.run(["cargo", "build", "--release"], cwd=ROOT, check=True)
            library = os.path.join(ROOT, "target", "release", LIB)
        else:
            raise RuntimeError("cannot find the Rust crate to build libredis_sentinel; "
                               "set REDIS_SENTINEL_LIB to a built library")
        target = os.path.join(self.build_lib, "redis_sentinel", LIB)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(library, target)


class BinaryDistribution(Distribution):
    """The wheel carries a native library: tag it for this platform, not "any"."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=BinaryDistribution)
