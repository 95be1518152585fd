import { useEffect, useRef } from 'react';

/**
 * Calls tick every ms milliseconds while ms is a number; null pauses. The latest tick is
 * always the one called, and a hidden tab (another tab in front) is not polled.
 */
export function useInterval(tick: () => void, ms: number | null): void {
  const tickRef = useRef(tick);
  tickRef.current = tick;
  useEffect(() => {
    if (ms === null) return;
    const timer = setInterval(() => {
      if (document.visibilityState !== 'hidden') tickRef.current();
    }, ms);
    return () => clearInterval(timer);
  }, [ms]);
}

/** Calls refresh when the tab comes back to the front, e.g. after working in the editor's tab. */
export function useOnFocus(refresh: () => void): void {
  const refreshRef = useRef(refresh);
  refreshRef.current = refresh;
  useEffect(() => {
    const onVisible = () => {
      if (document.visibilityState === 'visible') refreshRef.current();
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => document.removeEventListener('visibilitychange', onVisible);
  }, []);
}
