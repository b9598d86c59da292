//! Server-sent events from a reqwest body, via eventsource-stream.
