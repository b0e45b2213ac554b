"""The studies: each paper's table as rows of recipes, with the paper's numbers, protocol and budget.

Every number is transcribed from the paper's text (the line of the text
file in the project's papers folder is given with each row), never from
memory. Where a paper does not state a detail of its protocol, the
protocol says "not stated" and names the choice a run makes instead.
"""

import dataclasses

from tfattngan.errors import UserInputError


@dataclasses.dataclass(frozen=True)
class Row:
    """One row of a paper's table: the recipe that reproduces it and the paper's numbers.

    Example:

    >>> row = Row("sagan-div-d-mnist", "d: SN in D, IN in G", "MNIST", {"FID": 55.6425}, "line 157")
    >>> row.paper["FID"]
    55.6425
    """

    recipe: str
    variant: str
    dataset: str
    paper: dict
    where: str


@dataclasses.dataclass(frozen=True)
class Protocol:
    """How the paper evaluated: the FID implementation, the sample counts and which checkpoint.

    `best` says whether the paper reports the best value over training
    (then a study keeps the checkpoint with the best FID) or the final one.

    Example:

    >>> Protocol("pytorch-fid 0.2.1", "not stated", "10,000", best=True, quote="line 134").eval_samples
    10000
    """

    fid_implementation: str
    real_samples: str
    generated_samples: str
    best: bool
    quote: str
    eval_samples: int = 10000  # a study's default images per evaluation: the paper's where stated


@dataclasses.dataclass(frozen=True)
class Study:
    """A paper's table: its rows, the paper's protocol and training budget, and extra reported rows.

    `context` holds rows of the table that are not trained here (the real
    data's score, methods of other papers), as `(name, dataset, values)`.

    Example:

    >>> study = get_study("sagan-div-table3")
    >>> len(study.rows), study.metrics
    (8, ('FID',))
    """

    name: str
    paper: str
    table: str
    source_file: str
    description: str
    rows: tuple
    protocol: Protocol
    budget: str
    context: tuple = ()

    @property
    def metrics(self):
        """The metrics the paper reports in this table, in order (FID first)."""
        found = {metric for row in self.rows for metric in row.paper}
        return tuple(metric for metric in ("FID", "IS") if metric in found)

    def select(self, patterns):
        """The rows whose recipe or dataset matches one of the `fnmatch` patterns (all rows for none).

        Example:

        >>> [row.recipe for row in get_study("sagan-div-table2").select(["*fashion-mnist"])][:2]
        ['sagan-div-dcgan-fashion-mnist', 'sagan-div-wgan-div-fashion-mnist']
        """
        import fnmatch

        if not patterns:
            return self.rows
        chosen = tuple(row for row in self.rows
                       if any(fnmatch.fnmatch(row.recipe, p) or fnmatch.fnmatch(row.dataset, p) for p in patterns))
        if not chosen:
            raise UserInputError(f"--only {' '.join(patterns)} matches no row of {self.name}; its rows are "
                                 + ", ".join(row.recipe for row in self.rows))
        return chosen


_SAGAN = "Zhang, Goodfellow, Metaxas, Odena. Self-Attention Generative Adversarial Networks, 2018"
_RAGAN = "Wang, Hu, Huang, Ruan, Chen. Regional attention generative adversarial networks. Electronics Letters, 2019"
_SAGAN_DIV = "Chen, Yamane. Enhanced Full Attention Generative Adversarial Networks (SAGAN-div). IEICE, 2023"
_BURY = "Bury. Self-attention generative adversarial network (CelebA 64x64). IVUS, 2024"


def _sagan_table1():
    # sagan-zhang-2018-slides.txt, Table 1 (lines 157-162): FID on line 159, IS on line 160.
    values = {"no attention": (22.96, 42.87), "feat8": (22.98, 43.15), "feat16": (22.14, 45.94),
              "feat32": (18.28, 51.43), "feat64": (18.65, 52.52)}
    rows = tuple(
        Row("sagan-no-attention" if name == "no attention" else f"sagan-{name}", name, "ImageNet 128",
            {"FID": fid, "IS": inception_score}, "lines 159-160")
        for name, (fid, inception_score) in values.items()
    )
    return Study(
        name="sagan-table1", paper=_SAGAN, table="Table 1", source_file="sagan-zhang-2018-slides.txt",
        description="self-attention at feature maps 8/16/32/64 against none (ImageNet 128, class-conditional)",
        rows=rows,
        protocol=Protocol(
            fid_implementation="not stated", real_samples="not stated", generated_samples="not stated", best=True,
            quote="line 162: \"All models have been trained for one million iterations, and the best Inception "
            "scores (IS) and Frechet Inception distance (FID) are reported.\"",
        ),
        budget="1,000,000 iterations, 1:1 G/D updates (line 162; line 155)",
    )


def _ragan_table1():
    # ragan-wang-2019.txt, Table 1 (lines 47-58): IS CIFAR-10, IS STL-10, FID CIFAR-10, FID CelebA.
    table = {
        "dcgan": ("DCGAN", 53, (7.25, 7.86, 28.29, 14.04)),
        "dcgan-sa": ("DCGAN + self-attention", 54, (7.35, 7.88, 27.51, 12.34)),
        "dcgan-ra": ("DCGAN + regional attention", 55, (7.52, 8.10, 25.43, 11.74)),
        "wgan": ("WGAN", 56, (7.27, 7.88, 26.15, 14.87)),
        "wgan-sa": ("WGAN + self-attention", 57, (7.34, 7.92, 27.33, 14.99)),
        "wgan-ra": ("WGAN + regional attention", 58, (7.44, 8.00, 25.89, 13.14)),
    }
    rows = []
    for data, dataset, pick in (("cifar10", "CIFAR-10", lambda v: {"FID": v[2], "IS": v[0]}),
                                ("stl10", "STL-10", lambda v: {"IS": v[1]}),
                                ("celeba64", "CelebA 64", lambda v: {"FID": v[3]})):
        for key, (variant, line, values) in table.items():
            rows.append(Row(f"ragan-{key}-{data}", variant, dataset, pick(values), f"line {line}"))
    return Study(
        name="ragan-table1", paper=_RAGAN, table="Table 1", source_file="ragan-wang-2019.txt",
        description="DCGAN and WGAN, each with self-attention and with regional attention in G "
        "(IS on CIFAR-10 and STL-10, FID on CIFAR-10 and CelebA)",
        rows=tuple(rows),
        protocol=Protocol(
            fid_implementation="not stated", real_samples="not stated", generated_samples="not stated", best=True,
            quote="line 43: \"We show the best values after 200 K iterations training on CIFAR-10 and STL-10 "
            "datasets, and after 20 epochs training on CelebA dataset.\" The CelebA column's image size is not "
            "stated (64 and 128 were trained): the 64x64 recipes are used",
        ),
        budget="200K iterations (CIFAR-10, STL-10 resized to 32x32), 20 epochs (CelebA) (line 43)",
        context=(("Real data", "CIFAR-10", {"IS": 11.24, "FID": 0.0}), ("Real data", "STL-10", {"IS": 26.08}),
                 ("Real data", "CelebA 64", {"FID": 0.0})),
    )


_SAGAN_DIV_PROTOCOL = Protocol(
    fid_implementation="pytorch-fid 0.2.1 (line 130, reference [18])", real_samples="not stated",
    generated_samples="10,000 (line 130)", best=True,
    quote="line 134: \"We saved the highest rated model for final result comparison.\"",
)
_SAGAN_DIV_BUDGET = ("\"10,000 epochs for MNIST and FASHION-MNIST\", 5 critic steps, Adam(0, 0.9), "
                     "lr_D 4e-4, lr_G 1e-4 (line 134); baselines: their papers' defaults (line 138)")
_SAGAN_DIV_DATA = (("mnist", "MNIST"), ("fashion-mnist", "Fashion-MNIST"))


def _sagan_div_study(number, description, table):
    """A SAGAN-div table: `table` rows are (recipe key, variant, line, (FID on MNIST, FID on Fashion-MNIST))."""
    rows = tuple(Row(f"sagan-div-{key}-{data}", variant, dataset, {"FID": values[i]}, f"line {line}")
                 for i, (data, dataset) in enumerate(_SAGAN_DIV_DATA) for key, variant, line, values in table)
    return Study(
        name=f"sagan-div-table{number}", paper=_SAGAN_DIV, table=f"Table {number}",
        source_file="sagan-div-chen-yamane-2023.txt", description=description, rows=rows,
        protocol=_SAGAN_DIV_PROTOCOL, budget=_SAGAN_DIV_BUDGET,
    )


# sagan-div-chen-yamane-2023.txt, Table 2 (lines 145-149) and Table 3 (lines 153-157; the variants are
# defined on line 190): FID on MNIST, Fashion-MNIST.
_SAGAN_DIV_TABLE2 = (("dcgan", "DCGAN", 146, (45.7734, 86.5129)), ("wgan-div", "WGAN-div", 147, (83.1224, 104.1503)),
                     ("sngan", "SNGAN", 148, (26.0231, 46.9646)), ("d", "SAGAN-div (d)", 149, (55.6425, 100.8650)))
_SAGAN_DIV_TABLE3 = (("a", "a: SN and IN in G and D", 154, (86.7291, 127.7808)),
                     ("b", "b: SN in G and D, no IN", 155, (59.8766, 107.4283)),
                     ("c", "c: IN in G and D, no SN", 156, (101.1107, 153.7099)),
                     ("d", "d: SN in D, IN in G", 157, (55.6425, 100.8650)))


def _sagan_celeba():
    # sagan-celeba-bury-2024.txt, Table 1 (lines 127-135).
    return Study(
        name="sagan-celeba", paper=_BURY, table="Table 1", source_file="sagan-celeba-bury-2024.txt",
        description="the 5-layer SAGAN with batch and spectral norm on CelebA 64x64 (FID)",
        rows=(Row("sagan-celeba64", "SAGAN (proposed)", "CelebA 64", {"FID": 21.88}, "line 135"),),
        protocol=Protocol(
            fid_implementation="not stated (Heusel et al. cited, line 125)", real_samples="not stated",
            generated_samples="not stated", best=False,
            quote="not stated which checkpoint; Figure 6 shows \"Faces generated after last epoch\" (line 123): "
            "the final checkpoint is evaluated",
        ),
        budget="not stated (\"the relatively small number of training epochs\", line 125)",
        context=(("BEGAN-CS", "CelebA", {"FID": 34.13}), ("PR-BigGAN", "CelebA", {"FID": 22.45}),
                 ("DualGAN", "CelebA", {"FID": 13.95})),
    )


STUDIES = {study.name: study for study in (
    _sagan_table1(), _ragan_table1(),
    _sagan_div_study(2, "DCGAN, WGAN-div and SNGAN against SAGAN-div (d) on MNIST and Fashion-MNIST (FID)",
                     _SAGAN_DIV_TABLE2),
    _sagan_div_study(3, "spectral and instance normalisation in G and D, variants a-d, on MNIST and Fashion-MNIST "
                     "(FID)", _SAGAN_DIV_TABLE3),
    _sagan_celeba(),
)}


def get_study(name):
    """The `Study` called `name`; an unknown name is a `UserInputError` listing the studies.

    Example:

    >>> get_study("sagan-celeba").rows[0].recipe
    'sagan-celeba64'
    >>> get_study("nope")
    Traceback (most recent call last):
    ...
    tfattngan.errors.UserInputError: unknown study 'nope'; the studies are ragan-table1, sagan-celeba, sagan-div-table2, sagan-div-table3, sagan-table1 (python -m tfattngan.study list)
    """
    if name not in STUDIES:
        raise UserInputError(f"unknown study {name!r}; the studies are {', '.join(sorted(STUDIES))} "
                             "(python -m tfattngan.study list)")
    return STUDIES[name]
