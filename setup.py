"""One build step on top of pyproject.toml: the wheel carries the label schema.

``data/labels.yaml`` stays the one file to edit (the docs, configs and the Bento name it there); the build
copies it into the wheel as ``voc/models/labels.yaml``, where an installed ``voc`` finds it (models/paths.py).
An editable install needs no copy: it reads data/labels.yaml from the checkout.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

LABELS = Path("data") / "labels.yaml"


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        if not self.editable_mode:
            target = Path(self.build_lib) / "voc" / "models" / "labels.yaml"
            target.parent.mkdir(parents=True, exist_ok=True)
            self.copy_file(str(LABELS), str(target))


setup(cmdclass={"build_py": BuildPy})
