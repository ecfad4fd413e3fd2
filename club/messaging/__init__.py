"""Messages to members: what a message is, how it reaches a member (customer-service window,
template, quiet hours, frequency cap), and the one way into the outbox."""
