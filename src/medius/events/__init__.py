"""Events: repetitions of single-leg tasks and the stance leg of each."""

from medius.events._reps import Rep, SquatRepDetector, detect_stance_side

__all__ = ["Rep", "SquatRepDetector", "detect_stance_side"]
