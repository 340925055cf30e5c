//! Output formats for the published lists: pure renderers from a [`List`] to bytes, one module per format
//! (not yet implemented). They do no IO; callers cache the result per list version.
