"""The course's notebooks and their tools, runnable from the project folder without make:
`python -m notebooks.doctor`, `python -m notebooks.editions student build/student`."""
