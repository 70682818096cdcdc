// The load engine.
