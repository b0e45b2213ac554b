"""Studies: each paper's table re-run as one command, with the paper's numbers beside this run's.

`python -m tfattngan.study list | run STUDY --out DIR | report DIR`; see
`tfattngan.study.cli`. The studies and the paper's numbers are in
`tfattngan.study.catalog`.

Example:

>>> from tfattngan.study import STUDIES
>>> sorted(STUDIES)[:2]
['ragan-table1', 'sagan-celeba']
"""

from tfattngan.study.catalog import STUDIES
from tfattngan.study.catalog import Study
from tfattngan.study.catalog import get_study

__all__ = ["STUDIES", "Study", "get_study"]
