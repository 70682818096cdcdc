// The embedded CQL server. See the files beside this one.
