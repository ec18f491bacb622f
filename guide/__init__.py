"""The guide's code, re-created to show its bugs: "DIY async web framework" (hzlmn).

The course's notebooks show each of the guide's bugs with code that behaves as the
guide's text does, bugs included. That code lives here, written in this project and
credited, class by class, to the section of the guide it follows; it is never a paste of
the guide, and never the answer: sketch is the answer, and the learner's `diy` is theirs.

- request_response.py: "Making server protocol" and "Request/Response objects";
- dispatcher.py: the three routers of "Application & UrlDispatcher", "Route params" and
  "Better exceptions";
- exceptions.py: the HTTP exceptions and the 500 page of "Better exceptions";
- application.py: the Application of the later sections (middlewares, lifecycle hooks,
  exceptions, graceful shutdown), its run_app, and `serve` and `ask`, our way to run it
  in a notebook and ask it a request;
- sigterm_app.py: an app under that run_app, for chapter 09 to send SIGTERM to.

Tested in tests/test_guide_versions.py: each bug, as the guide's text has it.

Where a re-creation must differ from the text to run at all on a current Python, its
docstring says so.
"""

__all__: list[str] = []  # import the modules: each lists its names
