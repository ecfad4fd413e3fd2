"""Sales recorded by staff: purchases and returns, with the points and qualifying spend they
move."""
