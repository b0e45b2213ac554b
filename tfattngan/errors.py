"""The one exception type for errors a user can cause and fix."""


class UserInputError(ValueError):
    """A bad path, shape, recipe, argument or checkpoint, with what to do about it.

    The message is one line that says what was wrong and what to do; the
    command-line tools print it alone and exit with status 2.

    Example:

    >>> try:
    ...     raise UserInputError("no such recipe 'sagan-x'; see python train.py --list-recipes")
    ... except ValueError as error:
    ...     print(error)
    no such recipe 'sagan-x'; see python train.py --list-recipes
    """
