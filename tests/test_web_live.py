"""broker.web.live's feeds: a page's feed lives exactly as long as its stream could still run."""

from __future__ import annotations

import asyncio
import gc

from broker.web.live import Live, sse


async def _never_still() -> bool:
    return False


def test_a_stream_that_never_started_leaves_no_feed_behind():
    loop = asyncio.new_event_loop()
    try:
        live = Live(loop)
        feed = live.ticket_feed("20261125-1001")
        stream = sse(feed, lambda m: m, _never_still, live.drop)   # a response cancelled before its body
        del feed
        gc.collect()
        assert live.count == 1, "the stream not yet started still holds its feed"
        del stream
        gc.collect()
        assert live.count == 0
    finally:
        loop.close()


def test_a_stream_that_ran_drops_its_feed_at_the_end():
    loop = asyncio.new_event_loop()
    try:
        live = Live(loop)
        kept = live.clerk_feed(7)
        stream = sse(kept, lambda m: m, _never_still, live.drop)
        assert loop.run_until_complete(stream.__anext__()).startswith("retry:")
        loop.run_until_complete(stream.aclose())   # the page went away mid-stream
        assert live.count == 0 and kept is not None   # dropped although the test still holds it
    finally:
        loop.close()
