"""An app served by the guide's run_app, to send signals to: `python -u -m guide.sigterm_app`.

It prints the line run_app prints, `Started server on 127.0.0.1:<port>` (port 0: the
system picks one), and `on_shutdown ran` when its shutdown hook runs. Send it SIGTERM:
the hook runs, and the server goes on answering.
"""

import asyncio

from guide.application import Application, run_app
from guide.request_response import Response


async def hello(request):
    return Response("still serving")


async def goodbye(app):
    print("on_shutdown ran", flush=True)


# The guide's Application takes the loop run_app will run: made here, explicitly, as
# asyncio.get_event_loop() no longer makes one where none runs (Python 3.12 deprecates it).
loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
app = Application(loop=loop)
app.router.add_get("/", hello)
app.on_shutdown.append(goodbye)

if __name__ == "__main__":
    run_app(app, port=0, loop=loop)
