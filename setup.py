"""Build the Cython kernels of the reference runtime (cython_kernels/*.pyx -> tinyc._kernels.*), and put the
repository's firmware/ and boards/ into the built package as tinyc/_data/ (see tinyc.resources)."""

import shutil
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_py import build_py

# firmware/ as a user gets it: no model library (lib/) and nothing a build leaves behind
SHIPPED = {"firmware": shutil.ignore_patterns(".pio", "lib", "model_glue.h", "__pycache__"), "boards": None}


class BuildPyWithData(build_py):
    """build_py that also copies the shipped folders. An editable install reads the checkout's instead."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        for name, ignore in SHIPPED.items():
            dest = Path(self.build_lib) / "tinyc" / "_data" / name
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(name, dest, ignore=ignore)


extensions = [
    Extension(
        f"tinyc._kernels.{pyx.stem}",
        [str(pyx)],
        include_dirs=[numpy.get_include()],
        extra_compile_args=["-O3", "-ffp-contract=off"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    for pyx in sorted(Path("cython_kernels").glob("*.pyx"))
]

setup(
    cmdclass={"build_py": BuildPyWithData},
    ext_modules=cythonize(
        extensions,
        language_level=3,
        compiler_directives={"boundscheck": False, "wraparound": False, "cdivision": True, "initializedcheck": False},
    ),
)
