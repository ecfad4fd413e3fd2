"""Personal touches on a calendar: birthdays (solar or lunar) and festivals, each member greeted
once a day with a tier-based gift."""
