"""Live event streams: Server-Sent Events and WebSocket."""
