"""FieldSales: field sales plan execution server."""

import warnings

# Litestar imports advanced-alchemy, whose mixins use a decorator SQLAlchemy 2.1 deprecates.
# Silence exactly that warning, by its text, as early as our package loads.
warnings.filterwarnings("ignore", message="The declarative_mixin decorator", category=DeprecationWarning)
