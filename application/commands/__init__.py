"""The application's use cases, one mixin per aggregate, each a set of named methods."""
