"""Members: enrolment with consent, phone and birthday, first contact and follows, the member
record other layers read, and data rights (see everything, erase on request)."""
