from __future__ import annotations

from gateway.store.base import Store

SOURCE = "https://cdn.wadiz.kr/banner.png"


async def test_an_upload_is_found_by_content_and_while_it_is_fresh(store: Store) -> None:
    assert await store.recent_image_upload("nhn", SOURCE, since=0.0) is None
    await store.save_image_upload("nhn", SOURCE, "a" * 64, "https://mud-kage.kakao.com/1.png", now=100.0)

    assert await store.image_upload("nhn", SOURCE, "a" * 64) == "https://mud-kage.kakao.com/1.png"
    assert await store.image_upload("nhn", SOURCE, "b" * 64) is None
    assert await store.image_upload("solapi", SOURCE, "a" * 64) is None
    assert await store.recent_image_upload("nhn", SOURCE, since=100.0) == "https://mud-kage.kakao.com/1.png"
    assert await store.recent_image_upload("nhn", SOURCE, since=100.5) is None


async def test_new_content_behind_the_same_url_is_the_recent_one_and_a_check_refreshes_a_row(store: Store) -> None:
    await store.save_image_upload("nhn", SOURCE, "a" * 64, "https://mud-kage.kakao.com/1.png", now=100.0)
    await store.save_image_upload("nhn", SOURCE, "b" * 64, "https://mud-kage.kakao.com/2.png", now=200.0)
    assert await store.recent_image_upload("nhn", SOURCE, since=0.0) == "https://mud-kage.kakao.com/2.png"

    await store.save_image_upload("nhn", SOURCE, "a" * 64, "https://mud-kage.kakao.com/1.png", now=300.0)
    assert await store.recent_image_upload("nhn", SOURCE, since=250.0) == "https://mud-kage.kakao.com/1.png"


async def test_forgetting_a_vendor_url_drops_every_row_naming_it_at_that_vendor_only(store: Store) -> None:
    gone = "https://mud-kage.kakao.com/1.png"
    await store.save_image_upload("nhn", SOURCE, "a" * 64, gone, now=100.0)
    await store.save_image_upload("nhn", "https://cdn.wadiz.kr/copy.png", "a" * 64, gone, now=100.0)
    await store.save_image_upload("nhn", SOURCE, "b" * 64, "https://mud-kage.kakao.com/2.png", now=50.0)
    await store.save_image_upload("solapi", SOURCE, "a" * 64, gone, now=100.0)

    assert await store.forget_image_upload("nhn", gone) == 2

    assert await store.image_upload("nhn", SOURCE, "a" * 64) is None
    assert await store.recent_image_upload("nhn", SOURCE, since=0.0) == "https://mud-kage.kakao.com/2.png"
    assert await store.image_upload("solapi", SOURCE, "a" * 64) == gone
    assert await store.forget_image_upload("nhn", gone) == 0
