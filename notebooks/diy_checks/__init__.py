"""Checks of the framework you build, `diy`: real requests to your code, plain verdicts.

Each check imports your modules afresh from `diy/` in the notebook's folder, starts
them on real loopback sockets (port 0), sends requests the way clients do (in pieces,
several on one connection) and says what is wrong in words, as notebooks/checks.py
does. A part you have not written yet (the stub of the learner edition: its names are
None) gets "not yet"; a part from an earlier chapter that is missing names the chapter
to finish first.

A build cell's check, in its chapter:

    from diy_checks import check_protocol
    await check_protocol()

One module per chapter (chapter01.py ... chapter10.py); serving.py loads diy/ and
prints the verdict, client.py is the client side every check speaks through, traced.py
reads the trace of the requests a check sends (what the inspector saw your code do:
the pieces httptools gave your callbacks, the handler your router chose, the order
the middlewares and hooks ran in, which layer raised), to say why where an answer
alone cannot. Every chapter's check reads it: chapter 01's the connections of your
echo protocol (which protocol object each connection got, which connection each read
came in on), chapter 03's what your Server was given and what it wrote (the body's
bytes, the Content-Length sent beside the bytes that followed).
"""

from .chapter01 import check_protocol
from .chapter02 import check_server
from .chapter03 import check_request, check_response
from .chapter04 import check_application
from .chapter05 import check_routes
from .chapter06 import check_middlewares
from .chapter07 import check_hooks
from .chapter08 import check_exceptions
from .chapter09 import check_graceful
from .chapter10 import check_sample_app
from .serving import Part

__all__ = [
    "check_protocol",
    "check_server",
    "check_request",
    "check_response",
    "check_application",
    "check_routes",
    "check_middlewares",
    "check_hooks",
    "check_exceptions",
    "check_graceful",
    "check_sample_app",
    "Part",
]
